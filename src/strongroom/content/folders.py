"""Folders: per-user roots, creation and keyset-paged listings."""

import base64
import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, String, bindparam, null, select, tuple_
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder, ancestry, effective_label, visible_rows
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.content.models import Folder, Item
from strongroom.content.names import clean_name, name_key
from strongroom.db.base import new_id
from strongroom.errors import InputError, NameTaken
from strongroom.identity.models import User
from strongroom.numbers import MAX_COUNT

ROOT_NAME = "All files"


def ref(item: Item) -> ItemRef:
    return ItemRef(item.kind, item.id, item.name)


def create_root_folder(session: Session, user: User, *, clock: Clock) -> Folder:
    """Give a new user the root that holds what they own ("All files")."""
    now = clock.now()
    root = Folder(
        id=new_id("fo"),
        sort_group=0,
        parent_id=None,
        owner_id=user.id,
        name=ROOT_NAME,
        name_key=name_key(ROOT_NAME),
        created_at=now,
        updated_at=now,
        created_by_id=user.id,
    )
    session.add(root)
    session.flush()
    user.root_folder_id = root.id
    return root


def resolve_folder_id(folder_id: str, *, root_folder_id: str | None) -> str:
    """`root` is an alias for the actor's own root folder."""
    if folder_id == "root":
        if root_folder_id is None:
            raise InputError("This actor has no root folder.")
        return root_folder_id
    return folder_id


def flush_name(session: Session, item: Item) -> None:
    """Raise NameTaken now if another live item in the folder has this name; then flush. The unique
    index still guards the race between two writers (transaction() turns that into a Conflict)."""
    with session.no_autoflush:
        clash = session.scalar(
            select(Item.id).where(
                Item.parent_id == item.parent_id,
                Item.name_key == item.name_key,
                Item.trashed_at.is_(None),
                Item.id != item.id,
            )
        )
    if clash is not None and item.trashed_at is None:
        raise NameTaken(f"An item named {item.name!r} already exists in this folder.", name=item.name)
    session.flush()


def check_depth(session: Session, parent: Item, *, max_depth: int) -> None:
    if len(ancestry(session, parent)) >= max_depth:
        raise InputError(f"Folders nest at most {max_depth} levels deep.", limit=max_depth)


def create_folder(
    session: Session, actor: Actor, *, parent_id: str, name: str, clock: Clock, max_depth: int = 64
) -> Folder:
    """Create a folder. Raises NotFound, NameInvalid, NameTaken."""
    parent = access_folder(session, actor, parent_id, Action.UPLOAD)
    clean = clean_name(name)
    check_depth(session, parent, max_depth=max_depth)
    now = clock.now()
    folder = Folder(
        id=new_id("fo"),
        sort_group=0,
        parent_id=parent.id,
        owner_id=parent.owner_id,
        name=clean,
        name_key=name_key(clean),
        created_at=now,
        updated_at=now,
        created_by_id=actor.user_id,
        classification=effective_label(session, parent),  # a folder's label is the floor below it
    )
    session.add(folder)
    flush_name(session, folder)
    events.record(
        session, actor, AuditAction.FOLDER_CREATED, item=ref(folder), details={"parent_id": parent.id}, at=now
    )
    return folder


class ListedItem(NamedTuple):
    """One row of a folder listing: the item's columns, read with a Core select. Building ORM objects
    (identity map, instrumented attributes) and then models from them was most of a listing's time;
    a named tuple is built straight from the database row."""

    id: str
    kind: str
    sort_group: int
    parent_id: str | None
    name: str
    name_key: str
    created_at: datetime
    updated_at: datetime
    trashed_at: datetime | None
    current_version_id: str | None
    size: int
    sha256: str | None
    content_type: str | None
    scan_status: str | None
    locked_by_id: str | None
    locked_until: datetime | None
    classification: str
    revision: int

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def etag(self) -> str:
        return f'"{self.id}.{self.revision}"'


LISTED_COLUMNS = tuple(getattr(Item, name) for name in ListedItem._fields)
# A listing shows live items only (`trashed_at IS NULL`), so that column is read as a plain NULL: no
# datetime conversion per row for a value known in advance (issue 14).
_LIVE_COLUMNS = tuple(
    null().label(column.key) if column.key == "trashed_at" else column for column in LISTED_COLUMNS
)


@dataclass(frozen=True)
class ItemPage:
    items: list[ListedItem]
    next_marker: str | None


def encode_marker(item: Item | ListedItem) -> str:
    raw = json.dumps([item.sort_group, item.name_key, item.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_marker(marker: str) -> tuple[int, str, str]:
    try:
        raw = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4))
        group, key, item_id = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise InputError("The marker is not one this server handed out.", field="marker") from exc
    # A forged marker may carry any JSON; a number past 64 bits would overflow the database column.
    if (
        not isinstance(group, int)
        or abs(group) > MAX_COUNT
        or not isinstance(key, str)
        or not isinstance(item_id, str)
    ):
        raise InputError("The marker is not one this server handed out.", field="marker")
    return group, key, item_id


@functools.lru_cache(maxsize=64)
def _listing_statements(unread: frozenset[str]) -> tuple[Select[Any], Select[Any]]:
    """The first page's query and a later page's (after a marker), built once per set of unread columns:
    building them cost more Python than a page of 100 spends in the database (issue 14)."""
    columns = tuple(null().label(column.key) if column.key in unread else column for column in _LIVE_COLUMNS)
    first = (
        select(*columns)
        .where(Item.parent_id == bindparam("folder"), Item.trashed_at.is_(None))
        .order_by(Item.sort_group, Item.name_key, Item.id)
        .limit(bindparam("limit", type_=Integer))
    )
    key = tuple_(
        bindparam("group", type_=Integer), bindparam("key", type_=String), bindparam("after", type_=String)
    )
    return first, first.where(tuple_(Item.sort_group, Item.name_key, Item.id) > key)


# What a listing needs whatever it shows: the row's identity, its place in the keyset and its label.
_ALWAYS_READ = frozenset({"id", "kind", "sort_group", "name", "name_key", "classification"})


def list_items(
    session: Session,
    actor: Actor,
    *,
    folder_id: str,
    limit: int,
    marker: str | None,
    unread: frozenset[str] = frozenset(),
) -> ItemPage:
    """One page of a folder's live children: folders first, then files, each by name (keyset, so every
    page costs the same however deep into a huge folder it is).

    `unread` names ListedItem fields the caller does not show: they are read as NULL (None), whatever
    their type says. A WebDAV listing reads only what the PROPFIND asked for: a datetime column costs
    more to convert than the rest of its row (issue 14)."""
    folder = access_folder(session, actor, folder_id, Action.SEE)
    first, after = _listing_statements(unread - _ALWAYS_READ)
    params: dict[str, object] = {"folder": folder.id, "limit": limit + 1}
    if marker:
        params["group"], params["key"], params["after"] = decode_marker(marker)
    # On the connection, not the session: the ORM's row loading would still wrap every row.
    rows = list(map(ListedItem._make, session.connection().execute(after if marker else first, params).all()))
    more = len(rows) > limit
    rows = rows[:limit]
    # The marker follows the rows read, not those shown, so a withheld item never stalls paging.
    marker_out = encode_marker(rows[-1]) if more and rows else None
    return ItemPage(items=visible_rows(session, actor, folder, rows), next_marker=marker_out)


def folder_path(session: Session, folder: Item) -> list[Item]:
    """Breadcrumbs: the folder's ancestors, root first, the folder last."""
    return ancestry(session, folder)
