"""WebDAV write locks (RFC 4918 §6-7): exclusive or shared, depth 0 or infinity, with a timeout.

These are the protocol's advisory-but-enforced locks, held by a lock token rather than by a user alone:
a write to a locked item must present the token (in the `If` header) *and* come from the user who took
the lock. They live beside the content lock (`content.locks`, one user checks a file out), which every
door also honours because the services check it.

A lock sits on one item. A depth-infinity lock on a folder covers everything below it; any lock on a
folder also guards its membership (adding, removing or renaming its children).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item, ancestry
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.db.base import Base, UTCDateTime
from strongroom.errors import Conflict, ItemLocked, NotAllowed

MAX_TIMEOUT = timedelta(days=7)
DEFAULT_TIMEOUT = timedelta(hours=1)
EXCLUSIVE = "exclusive"
SHARED = "shared"
DEPTH_ZERO = "0"
DEPTH_INFINITY = "infinity"


class DavLock(Base):
    __tablename__ = "dav_lock"
    __table_args__ = (Index("ix_dav_lock_item_id", "item_id"), Index("ix_dav_lock_expires_at", "expires_at"))

    token: Mapped[str] = mapped_column(String(80), primary_key=True)  # opaquelocktoken:<uuid>
    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(10))
    depth: Mapped[str] = mapped_column(String(10))
    # The client's DAV:owner element, kept verbatim as serialized XML so it round-trips.
    owner_xml: Mapped[str | None] = mapped_column(Text)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class LockRequest:
    scope: str
    depth: str
    owner_xml: str | None
    timeout: timedelta


def clamp_timeout(timeout: timedelta | None) -> timedelta:
    if timeout is None or timeout <= timedelta(0):
        return DEFAULT_TIMEOUT
    return min(timeout, MAX_TIMEOUT)


def locks_covering(session: Session, chain: list[Item], *, now: datetime) -> list[DavLock]:
    """Live locks on the last item of `chain` (root first), or inherited from a depth-infinity lock above."""
    ids = [node.id for node in chain]
    rows = session.scalars(select(DavLock).where(DavLock.item_id.in_(ids), DavLock.expires_at > now))
    target = chain[-1].id
    return [lock for lock in rows if lock.item_id == target or lock.depth == DEPTH_INFINITY]


def membership_locks(session: Session, folder_chain: list[Item], *, now: datetime) -> list[DavLock]:
    """Locks that guard adding or removing children of the folder at the end of `folder_chain`: every lock
    on the folder itself, whatever its depth, and depth-infinity locks above it."""
    return locks_covering(session, folder_chain, now=now)


def locks_below(session: Session, item: Item, *, now: datetime) -> list[DavLock]:
    """Live locks on strict descendants of `item`. Live locks are few, so each one's path is checked."""
    if not item.is_folder:
        return []
    found = []
    for lock in session.scalars(select(DavLock).where(DavLock.expires_at > now, DavLock.item_id != item.id)):
        holder = session.get(Item, lock.item_id)
        if holder is not None and any(node.id == item.id for node in ancestry(session, holder)):
            found.append(lock)
    return found


def locks_on_children(session: Session, folder_id: str, *, now: datetime) -> dict[str, list[DavLock]]:
    """Live locks held directly on the folder's children, by item (for listings: live locks are few, and
    a join on the folder spares each page a thousand-id IN list)."""
    result: dict[str, list[DavLock]] = {}
    held = select(DavLock).join(Item, Item.id == DavLock.item_id)
    for lock in session.scalars(held.where(Item.parent_id == folder_id, DavLock.expires_at > now)):
        result.setdefault(lock.item_id, []).append(lock)
    return result


def ensure_may_write(locks: list[DavLock], actor: Actor, *, submitted: set[str]) -> None:
    """Raise ItemLocked unless the actor presented the token of every lock, and holds each one."""
    for lock in locks:
        if lock.token not in submitted or lock.user_id != actor.user_id:
            raise ItemLocked("The item is locked; send the lock token in the If header.", token_required=True)


def create_lock(
    session: Session, actor: Actor, *, item_id: str, request: LockRequest, clock: Clock
) -> DavLock:
    """Take a write lock on an item. Raises NotFound, ItemLocked (a conflicting lock exists)."""
    item = access_item(session, actor, item_id, Action.EDIT)
    now = clock.now()
    existing = locks_covering(session, ancestry(session, item), now=now)
    if request.depth == DEPTH_INFINITY:
        existing += locks_below(session, item, now=now)
    if any(EXCLUSIVE in (lock.scope, request.scope) for lock in existing):
        raise ItemLocked(f"{item.name!r} is already locked.")
    timeout = clamp_timeout(request.timeout)
    lock = DavLock(
        token=f"opaquelocktoken:{uuid.uuid4()}",
        item_id=item.id,
        user_id=actor.user_id,
        scope=request.scope,
        depth=request.depth,
        owner_xml=request.owner_xml,
        timeout_seconds=int(timeout.total_seconds()),
        created_at=now,
        expires_at=now + timeout,
    )
    session.add(lock)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.ITEM_LOCKED,
        item=ref(item),
        details={
            "via": "dav",
            "scope": lock.scope,
            "depth": lock.depth,
            "until": lock.expires_at.isoformat(),
        },
        at=now,
    )
    return lock


def refresh_lock(
    session: Session, actor: Actor, *, item_id: str, tokens: set[str], timeout: timedelta | None, clock: Clock
) -> DavLock:
    """Extend a lock that covers the item and whose token the client sent. Raises NotFound, Conflict."""
    item = access_item(session, actor, item_id, Action.SEE)
    now = clock.now()
    for lock in locks_covering(session, ancestry(session, item), now=now):
        if lock.token in tokens and lock.user_id == actor.user_id:
            span = clamp_timeout(timeout)
            lock.timeout_seconds = int(span.total_seconds())
            lock.expires_at = now + span
            events.record(
                session,
                actor,
                AuditAction.ITEM_LOCKED,
                item=ref(item),
                details={"via": "dav", "refreshed": True, "until": lock.expires_at.isoformat()},
                at=now,
            )
            return lock
    raise Conflict("None of the lock tokens sent is a lock on this item.")


def remove_lock(session: Session, actor: Actor, *, item_id: str, token: str, clock: Clock) -> None:
    """Release a lock that covers the item. Raises NotFound, Conflict (no such lock here), NotAllowed."""
    item = access_item(session, actor, item_id, Action.SEE)
    now = clock.now()
    for lock in locks_covering(session, ancestry(session, item), now=now):
        if lock.token != token:
            continue
        if lock.user_id != actor.user_id:
            raise NotAllowed("Only the user who took the lock can release it.")
        holder = session.get(Item, lock.item_id)
        session.delete(lock)
        session.flush()
        events.record(
            session,
            actor,
            AuditAction.ITEM_UNLOCKED,
            item=ref(holder or item),
            details={"via": "dav"},
            at=now,
        )
        return
    raise Conflict("That lock token is not a lock on this item.")


def forget_locks(session: Session, item: Item, *, now: datetime) -> None:
    """Drop the locks on an item and below it once it is deleted or moved away (locks belong to a URL)."""
    doomed = [lock.token for lock in locks_below(session, item, now=now)]
    session.execute(delete(DavLock).where(DavLock.item_id == item.id))
    if doomed:
        session.execute(delete(DavLock).where(DavLock.token.in_(doomed)))


def purge_expired(session: Session, *, clock: Clock) -> int:
    """Housekeeping: delete lapsed locks (they are already ignored everywhere)."""
    result = session.execute(delete(DavLock).where(DavLock.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)
