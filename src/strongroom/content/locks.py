"""Locks: a user checks a file out so others cannot change it until they unlock or the lock lapses."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_file
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.models import File, Item
from strongroom.errors import ItemLocked, NotAllowed

MAX_LOCK = timedelta(days=7)


def is_locked_against(item: Item, actor: Actor, *, now: datetime | None) -> bool:
    if item.locked_by_id is None or item.locked_by_id == actor.user_id:
        return False
    return now is None or item.locked_until is None or item.locked_until > now


def ensure_unlocked_for(item: Item, actor: Actor, *, now: datetime | None = None) -> None:
    """Raise ItemLocked if someone else holds a live lock on the item."""
    if is_locked_against(item, actor, now=now):
        raise ItemLocked(f"{item.name!r} is locked by another user.", locked_until=str(item.locked_until))


def lock_file(session: Session, actor: Actor, *, file_id: str, duration: timedelta, clock: Clock) -> File:
    """Lock a file for `duration` (at most 7 days). Raises NotFound, ItemLocked."""
    file = access_file(session, actor, file_id, Action.EDIT)
    now = clock.now()
    ensure_unlocked_for(file, actor, now=now)
    file.locked_by_id = actor.user_id
    file.locked_until = now + min(duration, MAX_LOCK)
    file.revision += 1
    events.record(
        session,
        actor,
        AuditAction.ITEM_LOCKED,
        item=ref(file),
        details={"until": file.locked_until.isoformat()},
        at=now,
    )
    return file


def unlock_file(session: Session, actor: Actor, *, file_id: str, clock: Clock) -> File:
    """Release a lock. Only its holder (or an owner breaking it) may. Raises NotFound, NotAllowed."""
    file = access_file(session, actor, file_id, Action.EDIT)
    now = clock.now()
    if file.locked_by_id is None:
        return file
    if is_locked_against(file, actor, now=now) and file.owner_id != actor.user_id:
        raise NotAllowed("Only the user who locked the file, or its owner, can unlock it.")
    file.locked_by_id = None
    file.locked_until = None
    file.revision += 1
    events.record(session, actor, AuditAction.ITEM_UNLOCKED, item=ref(file), at=now)
    return file
