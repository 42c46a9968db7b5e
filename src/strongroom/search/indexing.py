"""Keeping the search documents in step with items, metadata and added text.

Names and folders: a listener on every Session writes the document of each item added, renamed or moved
in a flush (same transaction), so every door (REST, WebDAV, tus, upload requests, CLI, worker) indexes
without knowing about search. The document's `parent_id` only narrows the matches before the permission
test, which reads the live item; a stale one would hide an item, never show one. Item rows are changed
through the ORM only (no bulk UPDATE of `item.parent_id`), so the listener sees every move.
Deleted items lose their document by the database's cascade (and the FTS5 triggers follow).
"""

from typing import Any

from sqlalchemy import Connection, delete, event, insert, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from strongroom.content.models import Item
from strongroom.search.models import SearchDocument, SearchText

_RENAMED = "search_renamed"
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


@event.listens_for(Session, "before_flush")
def _note_renamed(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Item):
            continue
        attrs = inspect(obj).attrs
        if obj in session.new or attrs.name.history.has_changes() or attrs.parent_id.history.has_changes():
            session.info.setdefault(_RENAMED, set()).add(obj)


@event.listens_for(Session, "after_flush")
def _index_renamed(session: Session, _flush: UOWTransaction) -> None:
    renamed: set[Item] = session.info.pop(_RENAMED, set())
    if not renamed:
        return
    connection = session.connection()
    for item in renamed:
        if inspect(item).deleted or inspect(item).detached:
            continue
        _write(connection, item.id, item.name, item.parent_id, None)
