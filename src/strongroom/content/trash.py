"""Trash: deleted items stay restorable for the configured days, then are purged.

Only the item the user deleted is marked; everything below a trashed folder is hidden through it,
so trashing and restoring a folder of a million files is one row.
"""

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item, access_trashed_item, ancestry
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content import disposals
from strongroom.content.folders import flush_name, ref
from strongroom.content.locks import ensure_unlocked_for
from strongroom.content.models import FileVersion, Item
from strongroom.content.names import name_key
from strongroom.errors import InputError, NameTaken, NotFound


def trash_item(
    session: Session, actor: Actor, *, item_id: str, clock: Clock, expected_etag: str | None = None
) -> Item:
    """Move an item to the trash. Raises NotFound, ItemLocked, VersionChanged."""
    from strongroom.content.files import ensure_etag_matches

    item = access_item(session, actor, item_id, Action.DELETE)
    if item.parent_id is None:
        raise InputError("A root folder cannot be deleted.")
    ensure_etag_matches(item, expected_etag)
    now = clock.now()
    ensure_unlocked_for(item, actor, now=now)
    item.trashed_at = now
    item.trashed_by_id = actor.user_id
    item.revision += 1
    events.record(
        session,
        actor,
        AuditAction.ITEM_TRASHED,
        item=ref(item),
        details={"folder_id": item.parent_id},
        at=now,
    )
    return item


def list_trash(session: Session, actor: Actor, *, limit: int = 1000) -> list[Item]:
    """What the actor trashed, newest first (items they could still restore)."""
    rows = session.scalars(
        select(Item)
        .where(Item.trashed_by_id == actor.user_id, Item.trashed_at.is_not(None))
        .order_by(Item.trashed_at.desc())
        .limit(limit)
    )
    return list(rows)


def restore_item(session: Session, actor: Actor, *, item_id: str, clock: Clock) -> Item:
    """Bring an item back to its folder. If its name was taken meanwhile, it comes back as "name (restored)".
    Raises NotFound (also when its folder is itself in the trash or gone)."""
    item = access_trashed_item(session, actor, item_id, Action.DELETE)
    if any(node.trashed_at is not None for node in ancestry(session, item)[:-1]):
        raise NotFound("item", item_id)
    now = clock.now()
    item.trashed_at = None
    item.trashed_by_id = None
    item.revision += 1
    try:
        flush_name(session, item)
    except NameTaken:
        stem, dot, ext = (
            item.name.rpartition(".") if not item.is_folder and "." in item.name else (item.name, "", "")
        )
        item.name = f"{stem} (restored){dot}{ext}"
        item.name_key = name_key(item.name)
        flush_name(session, item)
    events.record(
        session,
        actor,
        AuditAction.ITEM_RESTORED,
        item=ref(item),
        details={"folder_id": item.parent_id},
        at=now,
    )
    return item


def purge_item(
    session: Session, actor: Actor, *, item_id: str, clock: Clock, reason: str | None = None
) -> list[str]:
    """Delete a trashed item and everything under it for good. Returns the blob keys no version uses any
    more; the caller deletes them after commit (a rollback must not lose bytes). Raises NotFound."""
    item = access_trashed_item(session, actor, item_id, Action.DELETE)
    return _purge(session, actor, item, clock=clock, reason=reason or "deleted for good from the trash")


def _purge(session: Session, actor: Actor, item: Item, *, clock: Clock, reason: str) -> list[str]:
    ids = subtree_ids(session, item.id)
    blob_keys = set(session.scalars(select(FileVersion.blob_key).where(FileVersion.file_id.in_(ids))))
    kept = set(
        session.scalars(
            select(FileVersion.blob_key).where(
                FileVersion.blob_key.in_(blob_keys), FileVersion.file_id.not_in(ids)
            )
        )
    )
    now = clock.now()
    batch = disposals.record_disposals(
        session, actor, root=item, item_ids=ids, still_used=kept.__contains__, reason=reason, at=now
    )
    events.record(
        session,
        actor,
        AuditAction.ITEM_PURGED,
        item=ref(item),
        details={"items": len(ids), "disposal": batch},
        reason=reason,
        at=now,
    )
    # The versions' rows hold their only (wrapped) data keys: deleting them destroys the keys.
    session.execute(delete(FileVersion).where(FileVersion.file_id.in_(ids)))
    # Delete leaves first: the parent foreign key would refuse the other order.
    for item_id in reversed(ids):
        session.execute(delete(Item).where(Item.id == item_id))
    return sorted(blob_keys - kept)


def subtree_ids(session: Session, root_id: str) -> list[str]:
    """The item and all its descendants, parents before children."""
    ids = [root_id]
    frontier = [root_id]
    while frontier:
        children = list(session.scalars(select(Item.id).where(Item.parent_id.in_(frontier))))
        ids.extend(children)
        frontier = children
    return ids


def purge_expired(session: Session, *, retention: timedelta, clock: Clock) -> list[str]:
    """System job: purge every item trashed longer ago than `retention`. Returns blob keys to delete."""
    cutoff = clock.now() - retention
    system = Actor.system(label="trash retention")
    freed: list[str] = []
    for item in list(session.scalars(select(Item).where(Item.trashed_at < cutoff))):
        reason = f"the trash retention period ({retention.days} days) ended"
        freed.extend(_purge(session, system, item, clock=clock, reason=reason))
    return freed
