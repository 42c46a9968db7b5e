"""Shared links: the visitor proves the password or, with a one-time code, a recipient's address.

Every failure counts towards the per-link and per-address throttles, wherever the visitor comes in.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.actors import Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.config import MailSettings, SharingSettings
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.errors import InputError
from strongroom.identity import users as identity_users
from strongroom.sharing import (
    one_time_codes,
    throttling,
)
from strongroom.sharing.link_visits import Visit, visitor_actor
from strongroom.sharing.models import LinkRecipient, SharedLink
from strongroom.sharing.shared_links import is_recipient


def _limits(link: SharedLink, origin: Origin, settings: SharingSettings) -> list[throttling.Limit]:
    window = timedelta(seconds=settings.throttle_window_seconds)
    return [
        throttling.Limit(f"link:{link.id}", settings.password_failures_per_link, window),
        throttling.Limit(f"ip:{origin.ip or 'unknown'}", settings.password_failures_per_ip, window),
    ]


def check_password(
    session: Session,
    link: SharedLink,
    visit: Visit,
    *,
    password: str,
    settings: SharingSettings,
    clock: Clock,
) -> bool:
    """Whether `password` is the link's. Every door that accepts a password calls this, so the per-link and
    per-IP throttles hold everywhere. Raises RateLimited. A failure is recorded, so commit before refusing."""
    now = timeline.decision_time(session, clock)  # throttle windows: every process on one clock
    limits = _limits(link, visit.origin, settings)
    throttling.ensure_not_throttled(session, limits, now=now)
    item = session.get_one(Item, link.item_id)
    actor = visitor_actor(link, visit)
    if identity_users.password_matches(link.password_hash, password):
        events.record(
            session,
            actor,
            AuditAction.LINK_PASSWORD_ACCEPTED,
            item=ref(item),
            details={"link_id": link.id},
            at=now,
        )
        return True
    throttling.record_failure(session, limits, now=now)
    events.record(
        session, actor, AuditAction.LINK_PASSWORD_FAILED, item=ref(item), details={"link_id": link.id}, at=now
    )
    return False


def send_code(
    session: Session,
    link: SharedLink,
    visit: Visit,
    *,
    email: str,
    link_url: str,
    settings: SharingSettings,
    mail: MailSettings,
    clock: Clock,
) -> None:
    """Mail a one-time code if `email` is a recipient of the link. The visitor is told the same either way,
    so the recipient list cannot be probed; a wrong address counts as a failure for the throttles."""
    now = timeline.decision_time(session, clock)  # the code's expiry is judged by this clock: issue by it
    limits = _limits(link, visit.origin, settings)
    throttling.ensure_not_throttled(session, limits, now=now)
    item = session.get_one(Item, link.item_id)
    actor = visitor_actor(link, visit)
    try:
        clean = identity_users.normalise_email(email)
    except InputError:
        clean = email.strip()[:320]
    if not is_recipient(session, link, clean):
        throttling.record_failure(session, limits, now=now)
        events.record(
            session,
            actor,
            AuditAction.LINK_CODE_FAILED,
            item=ref(item),
            details={"link_id": link.id, "email": clean, "reason": "not a recipient"},
            at=now,
        )
        return
    code = one_time_codes.issue_code(
        session, link_id=link.id, email_key=identity_users.email_key(clean), now=now
    )
    events.record(
        session,
        actor,
        AuditAction.LINK_CODE_SENT,
        item=ref(item),
        details={"link_id": link.id, "email": clean},
        at=now,
    )
    minutes = int(one_time_codes.CODE_LIFETIME.total_seconds() // 60)
    body = (
        f"Your code to open what was shared with you is:\n\n    {code}\n\n"
        f"It works once, for {minutes} minutes, on the page where you asked for it:\n{link_url}\n\n"
        "If you did not ask for this code, ignore this message."
    )
    mailer.queue_mail(session, mail, mailer.Mail(to=clean, subject=f"Your code: {code}", body=body))


def verify_code(
    session: Session,
    link: SharedLink,
    visit: Visit,
    *,
    email: str,
    code: str,
    settings: SharingSettings,
    clock: Clock,
) -> str | None:
    """The recipient's address if `code` proves `email`, else None. Raises RateLimited. A failure is
    recorded, so commit before refusing."""
    now = timeline.decision_time(session, clock)  # the code's expiry: one clock, never stepped back
    limits = _limits(link, visit.origin, settings)
    throttling.ensure_not_throttled(session, limits, now=now)
    item = session.get_one(Item, link.item_id)
    key = identity_users.email_key(email)
    ok = is_recipient(session, link, email) and one_time_codes.consume_code(
        session, link_id=link.id, email_key=key, code=code, now=now
    )
    if ok:
        recipient = session.scalar(
            select(LinkRecipient).where(LinkRecipient.link_id == link.id, LinkRecipient.email_key == key)
        )
        assert recipient is not None
        recipient.verified_at = recipient.verified_at or now
        proved = Visit(
            origin=visit.origin,
            password_ok=visit.password_ok,
            verified_email=recipient.email,
            user=visit.user,
        )
        events.record(
            session,
            visitor_actor(link, proved),
            AuditAction.LINK_RECIPIENT_VERIFIED,
            item=ref(item),
            details={"link_id": link.id, "email": recipient.email},
            at=now,
        )
        return recipient.email
    throttling.record_failure(session, limits, now=now)
    events.record(
        session,
        visitor_actor(link, visit),
        AuditAction.LINK_CODE_FAILED,
        item=ref(item),
        details={"link_id": link.id, "email": email[:320]},
        at=now,
    )
    return None
