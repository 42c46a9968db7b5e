"""When an account is disabled (by an admin or by the directory): release its WebDAV locks and discard
its unfinished resumable uploads, so that nobody waits on the work of someone who has left.

Its sessions and tokens already stop at their next request (identity checks `disabled_at`); this is the
part that lives in content. The caller discards the returned blobs' partial bytes after commit.
"""

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.content.dav_locks import DavLock
from strongroom.content.models import TusUpload


def end_work_of(session: Session, actor: Actor, *, user_id: str, clock: Clock) -> list[str]:
    """Release the user's locks and delete their unfinished uploads; returns the uploads' blob keys."""
    released = session.execute(delete(DavLock).where(DavLock.user_id == user_id))
    unfinished = list(
        session.scalars(
            select(TusUpload).where(TusUpload.created_by_id == user_id, TusUpload.completed_at.is_(None))
        )
    )
    keys = [upload.blob_key for upload in unfinished]
    for upload in unfinished:
        session.delete(upload)
    locks = int(getattr(released, "rowcount", 0) or 0)
    if locks or keys:
        events.record(
            session,
            actor,
            AuditAction.USER_WORK_ENDED,
            item=ItemRef("user", user_id),
            details={"locks_released": locks, "uploads_discarded": len(keys)},
            at=clock.now(),
        )
    return keys
