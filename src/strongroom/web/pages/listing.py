"""Folder listings for the file browser, sorted by name, date or size, in keyset pages.

Name order is the content service's own listing. Date and size orders use the same pattern (keyset
on the sort column plus the id) so the thousandth page of a folder of a million items costs what the
first one does. The folder is loaded through `access_folder`, the one gate, before anything is listed.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder, visible_children
from strongroom.actors import Actor
from strongroom.content import folders as content_folders
from strongroom.content.models import Item
from strongroom.errors import InputError
from strongroom.numbers import MAX_COUNT


class SortKey(StrEnum):
    NAME = "name"
    MODIFIED = "modified"
    SIZE = "size"


@dataclass(frozen=True)
class Listing:
    items: list[Item] | list[content_folders.ListedItem]
    next_marker: str | None


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(marker: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
    except (ValueError, TypeError) as exc:
        raise InputError("That page link is not one Strongroom made.", field="marker") from exc
    # A forged marker may carry any JSON; a number past 64 bits would overflow the database column.
    if (
        not isinstance(values, list)
        or len(values) != 3
        or any(isinstance(v, int) and abs(v) > MAX_COUNT for v in values)
    ):
        raise InputError("That page link is not one Strongroom made.", field="marker")
    return values


def list_folder(
    session: Session,
    actor: Actor,
    *,
    folder_id: str,
    sort: SortKey,
    descending: bool,
    limit: int,
    marker: str | None,
) -> Listing:
    """One page of a folder's live items, folders always before files. Raises NotFound, InputError."""
    if sort is SortKey.NAME and not descending:
        page = content_folders.list_items(session, actor, folder_id=folder_id, limit=limit, marker=marker)
        return Listing(items=page.items, next_marker=page.next_marker)
    folder = access_folder(session, actor, folder_id, Action.SEE)
    column = {SortKey.NAME: Item.name_key, SortKey.MODIFIED: Item.updated_at, SortKey.SIZE: Item.size}[sort]
    ordered = (column.desc(), Item.id.desc()) if descending else (column.asc(), Item.id.asc())
    query = (
        select(Item)
        .where(Item.parent_id == folder.id, Item.trashed_at.is_(None))
        .order_by(Item.sort_group, *ordered)
        .limit(limit + 1)
    )
    if marker:
        group, value, item_id = _decode(marker)
        if sort is SortKey.MODIFIED:
            value = datetime.fromisoformat(str(value))
        after = (column < value) if descending else (column > value)
        tie = (Item.id < item_id) if descending else (Item.id > item_id)
        query = query.where(
            or_(
                Item.sort_group > group,
                and_(Item.sort_group == group, or_(after, and_(column == value, tie))),
            )
        )
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    shown = visible_children(session, actor, folder, rows)
    if not (more and rows):
        return Listing(items=shown, next_marker=None)
    last = rows[-1]
    value = {
        SortKey.NAME: last.name_key,
        SortKey.MODIFIED: last.updated_at.isoformat(),
        SortKey.SIZE: last.size,
    }[sort]
    return Listing(items=shown, next_marker=_encode([last.sort_group, value, last.id]))
