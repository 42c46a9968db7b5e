"""Keeping the search documents in step with items, metadata and added text.

Names and folders: a listener on every Session writes the document of each item added, renamed or moved
in a flush (same transaction), so every door (REST, WebDAV, tus, upload requests, CLI, worker) indexes
without knowing about search. The document's `parent_id` only narrows the matches before the permission
test, which reads the live item; a stale one would hide an item, never show one. Item rows are changed
through the ORM only (no bulk UPDATE of `item.parent_id`), so the listener sees every move.
Deleted items lose their document by the database's cascade (and the FTS5 triggers follow).
Other parts of the index that follow the ORM (skills/search_words.py: a file's current version) register
with `after_flush_of`, so one listener pair serves them all, in a known order.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, event, insert, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from strongroom.content.models import Item
from strongroom.search.models import SearchDocument, SearchText

_CHANGED = "search_index_changed"
MAX_SOURCE = 64


def index_text(session: Session, item_id: str, source: str, text: str | None) -> None:
    """Set (or with None remove) the item's text from `source`, and rebuild its search document."""
    source = source.strip()[:MAX_SOURCE]
    session.execute(delete(SearchText).where(SearchText.item_id == item_id, SearchText.source == source))
    if text:
        add_text(session.connection(), item_id, source, text)
    refresh_document(session, item_id)


def add_text(connection: Connection, item_id: str, source: str, text: str) -> None:
    """Add a text source the item does not have yet (callers that replace a set of sources at once,
    inside a flush, delete theirs first and then call refresh_document_on)."""
    connection.execute(
        insert(SearchText).values(item_id=item_id, source=source.strip()[:MAX_SOURCE], text=text)
    )


def refresh_document(session: Session, item_id: str) -> None:
    """Write the item's document again from its name and every text source."""
    refresh_document_on(session.connection(), item_id)


def refresh_document_on(connection: Connection, item_id: str) -> None:
    """refresh_document on a connection: usable in a flush listener, where the session is busy."""
    row = connection.execute(select(Item.name, Item.parent_id).where(Item.id == item_id)).first()
    if row is None:
        return
    texts = connection.scalars(
        select(SearchText.text).where(SearchText.item_id == item_id).order_by(SearchText.source)
    )
    _write(connection, item_id, row.name, row.parent_id, "\n".join(texts))


def _write(connection: Any, item_id: str, name: str, parent_id: str | None, body: str | None) -> None:
    values: dict[str, str | None] = {"name": name, "parent_id": parent_id}
    if body is not None:
        values["body"] = body
    result = connection.execute(
        update(SearchDocument).where(SearchDocument.item_id == item_id).values(values)
    )
    if result.rowcount == 0:
        connection.execute(
            insert(SearchDocument).values(item_id=item_id, name=name, parent_id=parent_id, body=body or "")
        )


Reaction = Callable[[Connection, Any], None]
# (model, attributes, reaction), in the order registered: this module's own comes first, so a document
# exists before another reaction (skills/search_words.py) rebuilds it.
_WATCHERS: list[tuple[type[Any], tuple[str, ...], Reaction]] = []


def after_flush_of(model: type[Any], attributes: tuple[str, ...], react: Reaction) -> None:
    """Call `react(connection, obj)` for each `model` object whose `attributes` a flush changed (a new
    object counts when it sets them), after that flush and in its transaction: one listener pair on
    every Session serves every part of the search index that follows the ORM."""
    _WATCHERS.append((model, attributes, react))


@event.listens_for(Session, "before_flush")
def _note_changed(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    objects = list(session.new) + list(session.dirty)
    for n, (model, attributes, _react) in enumerate(_WATCHERS):
        for obj in objects:
            if not isinstance(obj, model):
                continue
            attrs = inspect(obj).attrs
            if any(getattr(attrs, name).history.has_changes() for name in attributes):
                session.info.setdefault(_CHANGED, {}).setdefault(n, set()).add(obj)


@event.listens_for(Session, "after_flush")
def _react_to_changed(session: Session, _flush: UOWTransaction) -> None:
    changed: dict[int, set[Any]] = session.info.pop(_CHANGED, {})
    if not changed:
        return
    connection = session.connection()
    for n, (_model, _attributes, react) in enumerate(_WATCHERS):
        for obj in changed.get(n, ()):
            if inspect(obj).deleted or inspect(obj).detached:
                continue
            react(connection, obj)


def _index_item(connection: Connection, item: Item) -> None:
    _write(connection, item.id, item.name, item.parent_id, None)


# Every new item has a name, so "name changed" covers items added as well as renamed and moved ones.
after_flush_of(Item, ("name", "parent_id"), _index_item)
