"""Telling a link's owner, if they asked (`notify_owner`), when it is opened or a file downloaded.

Each event leaves a notice; the worker's periodic task mails each owner the notices waiting for them,
at most one mail per owner per `sharing.notify_every_seconds`, so a busy link does not flood an inbox.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import utc
from strongroom.config import MailSettings
from strongroom.content.models import Item
from strongroom.db.base import new_id
from strongroom.identity.models import User
from strongroom.sharing.models import LinkNotice, SharedLink
from strongroom.uk_time import uk_time

MAX_LINES = 200
KEEP_SENT = timedelta(days=30)  # sent notices are kept a while only to space the mails; the audit trail stays


def note(session: Session, link: SharedLink, *, what: str, visitor: str, at: datetime) -> None:
    """Leave a notice for the link's owner, if they asked for them."""
    if not link.notify_owner or link.created_by_id is None:
        return
    session.add(
        LinkNotice(
            id=new_id("ln"),
            link_id=link.id,
            owner_id=link.created_by_id,
            what=what[:200],
            visitor=visitor[:320],
            at=at,
        )
    )


def _line(session: Session, notice: LinkNotice) -> str:
    link = session.get(SharedLink, notice.link_id)
    item = session.get(Item, link.item_id) if link else None
    about = (link.name if link and link.name else None) or (item.name if item else "a shared link")
    return f"- {uk_time(notice.at)}: {about}: {notice.what} by {notice.visitor}"


def mail_waiting_notices(
    session: Session, mail: MailSettings, *, public_url: str, every: timedelta, now: datetime
) -> int:
    """Mail each owner their waiting notices, unless they were mailed within `every`. Returns how many
    mails were queued (sent once the transaction commits)."""
    waiting: dict[str, list[LinkNotice]] = defaultdict(list)
    for notice in session.scalars(
        select(LinkNotice).where(LinkNotice.sent_at.is_(None)).order_by(LinkNotice.owner_id, LinkNotice.at)
    ):
        waiting[notice.owner_id].append(notice)
    session.execute(delete(LinkNotice).where(LinkNotice.sent_at < now - KEEP_SENT))
    mailed = 0
    for owner_id, notices in waiting.items():
        last = session.scalar(select(func.max(LinkNotice.sent_at)).where(LinkNotice.owner_id == owner_id))
        if last is not None and utc(last) > now - every:
            continue
        for notice in notices:
            notice.sent_at = now
        owner = session.get(User, owner_id)
        if owner is None or owner.disabled_at is not None:
            continue
        lines = [_line(session, notice) for notice in notices[:MAX_LINES]]
        if len(notices) > MAX_LINES:
            lines.append(f"... and {len(notices) - MAX_LINES} more: see the access report of each link.")
        body = (
            f"Hello {owner.display_name},\n\nYou asked to be told when your shared links are used:\n\n"
            + "\n".join(lines)
            + f"\n\nSee and manage your links: {public_url}/my/shared-links\n"
        )
        count = len(notices)
        subject = f"Your shared links were used {count} time{'' if count == 1 else 's'}"
        mailer.queue_mail(session, mail, mailer.Mail(to=owner.email, subject=subject, body=body))
        events.record(
            session,
            Actor.system(label="link notices"),
            AuditAction.LINK_NOTICES_MAILED,
            details={"owner_id": owner_id, "notices": count},
            at=now,
        )
        mailed += 1
    return mailed
