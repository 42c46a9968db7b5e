"""Dead properties: arbitrary client-defined, namespaced properties on an item (WebDAV PROPPATCH).

The server does not interpret them. Each value is the property element as the client sent it,
serialized as XML that declares its own namespaces, so it comes back exactly (nested elements,
foreign namespaces, characters beyond the BMP included). They follow the item on rename and move,
are copied with it, and go with it when it is purged.
"""

from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, Text, delete, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.locks import ensure_unlocked_for
from strongroom.content.models import Item
from strongroom.db.base import Base
from strongroom.errors import InputError

MAX_PROPERTIES_PER_ITEM = 500
MAX_VALUE_CHARS = 64 * 1024


class DeadProperty(Base):
    __tablename__ = "dead_property"

    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(512), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value_xml: Mapped[str] = mapped_column(Text)


PropName = tuple[str, str]  # (namespace, local name); "" is the null namespace


@dataclass(frozen=True)
class PropertyChange:
    name: PropName
    value_xml: str | None  # None removes the property


def properties_of(session: Session, item_ids: list[str]) -> dict[str, dict[PropName, str]]:
    """Every dead property of each item (one query, for listings). The caller has checked SEE."""
    result: dict[str, dict[PropName, str]] = {}
    if not item_ids:
        return result
    for row in session.scalars(select(DeadProperty).where(DeadProperty.item_id.in_(item_ids))):
        result.setdefault(row.item_id, {})[(row.namespace, row.name)] = row.value_xml
    return result


ListingKey = tuple[int, str, str]  # an item's place in its folder's listing (content.folders.decode_marker)


def properties_in_listing(
    session: Session, folder_id: str, *, after: ListingKey | None, through: ListingKey | None
) -> dict[str, dict[PropName, str]]:
    """`properties_of` the folder's live children from just after `after` through `through` (one page of
    its listing; None: no bound), joined on the folder rather than sent as an IN list of a page's ids.
    The caller has checked SEE on the folder, and shows only the children it may."""
    key = tuple_(Item.sort_group, Item.name_key, Item.id)
    query = (
        select(DeadProperty.item_id, DeadProperty.namespace, DeadProperty.name, DeadProperty.value_xml)
        .join(Item, Item.id == DeadProperty.item_id)
        .where(Item.parent_id == folder_id, Item.trashed_at.is_(None))
    )
    if after is not None:
        query = query.where(key > after)
    if through is not None:
        query = query.where(key <= through)
    result: dict[str, dict[PropName, str]] = {}
    for item_id, namespace, name, value_xml in session.execute(query):
        result.setdefault(item_id, {})[(namespace, name)] = value_xml
    return result


def change_properties(
    session: Session, actor: Actor, *, item_id: str, changes: list[PropertyChange], clock: Clock
) -> None:
    """Apply sets and removals in document order, all or nothing (the caller's transaction).
    Raises NotFound, ItemLocked, InputError (too many or too large)."""
    item = access_item(session, actor, item_id, Action.EDIT)
    now = clock.now()
    ensure_unlocked_for(item, actor, now=now)
    current = {
        (row.namespace, row.name): row
        for row in session.scalars(select(DeadProperty).where(DeadProperty.item_id == item.id))
    }
    for change in changes:
        row = current.get(change.name)
        if change.value_xml is None:
            if row is not None:
                session.delete(row)
                del current[change.name]
            continue
        if len(change.value_xml) > MAX_VALUE_CHARS:
            raise InputError(
                f"A property value is limited to {MAX_VALUE_CHARS} characters.", limit=MAX_VALUE_CHARS
            )
        if row is None:
            row = DeadProperty(item_id=item.id, namespace=change.name[0], name=change.name[1], value_xml="")
            session.add(row)
            current[change.name] = row
        row.value_xml = change.value_xml
    if len(current) > MAX_PROPERTIES_PER_ITEM:
        raise InputError(
            f"An item holds at most {MAX_PROPERTIES_PER_ITEM} properties.", limit=MAX_PROPERTIES_PER_ITEM
        )
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.PROPERTIES_CHANGED,
        item=ref(item),
        details={
            "set": sorted(f"{{{c.name[0]}}}{c.name[1]}" for c in changes if c.value_xml is not None),
            "removed": sorted(f"{{{c.name[0]}}}{c.name[1]}" for c in changes if c.value_xml is None),
        },
        at=now,
    )


def copy_properties(session: Session, *, source_id: str, target_id: str) -> None:
    """Give a copy its original's dead properties (part of a copy the caller already authorised)."""
    session.execute(delete(DeadProperty).where(DeadProperty.item_id == target_id))
    for row in list(session.scalars(select(DeadProperty).where(DeadProperty.item_id == source_id))):
        session.add(
            DeadProperty(item_id=target_id, namespace=row.namespace, name=row.name, value_xml=row.value_xml)
        )
    session.flush()
