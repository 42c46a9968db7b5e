"""How much unfinished resumable upload one user may hold: a number of uploads and their declared bytes.

Without a cap, one account (or a stolen token) could open thousands of tus uploads declaring terabytes
each, and the server would keep their rows and partial blobs until they expire. The caps are settings
(`[limits] max_open_uploads_per_user`, `max_open_upload_bytes_per_user`); uploads that finish, are
terminated or expire stop counting.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.clock import Clock
from strongroom.content.models import TusUpload
from strongroom.errors import OpenUploadBytesLimit, OpenUploadsLimit
from strongroom.identity.models import User


def ensure_room_for_upload(
    session: Session, actor: Actor, *, length: int, max_open: int, max_open_bytes: int, clock: Clock
) -> None:
    """Refuse a new upload of `length` bytes that would break the actor's caps. Raises OpenUploadsLimit,
    OpenUploadBytesLimit."""
    if actor.id is None:
        return
    # Lock the user's row so two creations at once cannot both slip under the cap (PostgreSQL; SQLite
    # writes one transaction at a time anyway), and count in the same statement: one round trip, not
    # two, on the upload's start (issue 17 (c)). The counts are subqueries, so the lock is the row's.
    open_uploads = select(TusUpload.id, TusUpload.length).where(
        TusUpload.created_by_id == actor.id,
        TusUpload.completed_at.is_(None),
        TusUpload.expires_at > clock.now(),
    )
    mine = open_uploads.subquery()
    row = session.execute(
        select(
            select(func.count(mine.c.id)).scalar_subquery(),
            select(func.coalesce(func.sum(mine.c.length), 0)).scalar_subquery(),
        )
        .where(User.id == actor.id)
        .with_for_update(of=User)
    ).one_or_none()
    count, declared = (row[0], row[1]) if row is not None else (0, 0)
    if count >= max_open:
        raise OpenUploadsLimit(
            f"You have {count} unfinished uploads, the most allowed; finish, cancel or wait for some "
            "to expire before starting another.",
            limit=max_open,
            open=count,
        )
    if declared + length > max_open_bytes:
        raise OpenUploadBytesLimit(
            f"Your unfinished uploads already declare {declared} bytes; with this one they would pass "
            f"the limit of {max_open_bytes} bytes. Finish or cancel some first.",
            limit=max_open_bytes,
            declared=int(declared),
        )
