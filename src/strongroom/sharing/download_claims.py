"""A link's download limit as people understand it: one visitor's one download of one file counts once.

A video player seeks with Range requests and a browser resumes a broken download with one; counting each
request would use up a limit of 3 in one viewing. So the first request for a file's original bytes (or a
zip) counts against the limit and leaves a claim: for `resume_hours`, the same visitor's Range requests
for the same file ride on it. A request without Range is a new copy and always counts; so does another
visitor (another browser, another address), and the claim ends with the window.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from strongroom.db.base import new_id
from strongroom.sharing.models import LinkDownloadClaim, SharedLink


def _count(session: Session, link: SharedLink) -> bool:
    """Count one download, atomically against the limit: of two parallel last downloads exactly one wins
    (the UPDATE re-checks the count under the row's write lock on PostgreSQL and SQLite alike)."""
    result = session.execute(
        update(SharedLink)
        .where(
            SharedLink.id == link.id,
            SharedLink.revoked_at.is_(None),
            or_(SharedLink.download_limit.is_(None), SharedLink.download_count < SharedLink.download_limit),
        )
        .values(download_count=SharedLink.download_count + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def has_claim(session: Session, link: SharedLink, *, target: str, visitor_key: str, now: datetime) -> bool:
    return (
        session.scalar(
            select(LinkDownloadClaim.id)
            .where(
                LinkDownloadClaim.link_id == link.id,
                LinkDownloadClaim.target == target,
                LinkDownloadClaim.visitor_key == visitor_key,
                LinkDownloadClaim.expires_at > now,
            )
            .limit(1)
        )
        is not None
    )


def count_once(
    session: Session,
    link: SharedLink,
    *,
    target: str,
    visitor_key: str,
    ranged: bool,
    now: datetime,
    window: timedelta,
) -> tuple[bool, bool]:
    """(allowed, counted): a Range request covered by this visitor's claim is allowed without counting;
    anything else counts, if the limit allows, and leaves a claim."""
    if ranged and has_claim(session, link, target=target, visitor_key=visitor_key, now=now):
        return True, False
    if not _count(session, link):
        return False, False
    session.execute(  # this visitor's older claims on the same bytes are spent
        delete(LinkDownloadClaim).where(
            LinkDownloadClaim.link_id == link.id,
            LinkDownloadClaim.target == target,
            LinkDownloadClaim.visitor_key == visitor_key,
        )
    )
    session.add(
        LinkDownloadClaim(
            id=new_id("dc"),
            link_id=link.id,
            target=target,
            visitor_key=visitor_key,
            created_at=now,
            expires_at=now + window,
        )
    )
    return True, True


def remaining(link: SharedLink) -> int | None:
    """Downloads left on the link; None when it has no limit."""
    if link.download_limit is None:
        return None
    return max(link.download_limit - link.download_count, 0)


def forget_expired(session: Session, *, now: datetime) -> int:
    """Remove claims whose window has passed (the worker, hourly); they no longer decide anything."""
    result = session.execute(delete(LinkDownloadClaim).where(LinkDownloadClaim.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE
