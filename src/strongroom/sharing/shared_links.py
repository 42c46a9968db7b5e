"""Shared links: create, change, revoke (owner side); open, prove, download (visitor side).

A link's token is 192 random bits, shown once and stored only as its SHA-256. A visitor passes, in
order: the access level (signed in? collaborator?), the password, the recipient proof; only then do
they act, as an Actor of kind LINK whose rights `access.policy.can` derives from the link. Expiry is
judged by the server's clock; a revoked or expired link answers Gone and says nothing of its item.
"""

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.access import labels
from strongroom.access.actions import Action
from strongroom.access.loaders import access_item, ancestry, effective_label
from strongroom.access.policy import can
from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, reasons, timeline
from strongroom.audit.events import AuditAction
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock, utc
from strongroom.config import MailSettings, SharingSettings
from strongroom.content import reads as content_reads
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.db.base import new_id
from strongroom.errors import Gone, GuestMayNotShare, InputError, NotAllowed, NotFound, Unauthenticated
from strongroom.identity import users as identity_users
from strongroom.sharing import (
    download_claims,
    link_guessing,
    link_mail,
    link_notices,
    one_time_codes,
    throttling,
)
from strongroom.sharing.models import LinkRecipient, SharedLink
from strongroom.sharing.schemas import SharedLinkCreate, SharedLinkUpdate


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


def _expiry(expires_at: datetime | None, days: int | None, now: datetime) -> datetime | None:
    if expires_at is not None and days is not None:
        raise InputError("Give `expires_at` or `expires_in_days`, not both.", field="expires_at")
    if days is not None:
        return now + timedelta(days=days)
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise InputError("`expires_at` needs a time zone (e.g. 2027-01-31T17:00:00Z).", field="expires_at")
    if expires_at <= now:
        raise InputError("`expires_at` is in the past.", field="expires_at")
    return expires_at


def _clean_recipients(emails: list[str], settings: SharingSettings) -> list[str]:
    allowed = [d.lower().lstrip("@") for d in settings.allowed_recipient_domains]
    clean: dict[str, str] = {}
    for raw in emails:
        email = identity_users.normalise_email(raw)
        domain = email.rpartition("@")[2].lower()
        if allowed and not any(domain == d or domain.endswith("." + d) for d in allowed):
            raise NotAllowed(
                f"Links may not be sent to {domain}: it is not on this force's list of allowed domains."
            )
        clean[identity_users.email_key(email)] = email
    return list(clean.values())


def _set_recipients(session: Session, link: SharedLink, emails: list[str]) -> None:
    for old in session.scalars(select(LinkRecipient).where(LinkRecipient.link_id == link.id)):
        session.delete(old)
    session.flush()
    for email in emails:
        session.add(
            LinkRecipient(
                id=new_id("lr"), link_id=link.id, email=email, email_key=identity_users.email_key(email)
            )
        )


def recipients_of(session: Session, link_id: str) -> list[str]:
    return list(
        session.scalars(
            select(LinkRecipient.email)
            .where(LinkRecipient.link_id == link_id)
            .order_by(LinkRecipient.email_key)
        )
    )


def _ceiling_message(label: str) -> str:
    if labels.rank(label) >= labels.rank(labels.Label.SECRET):
        return f"{label} items may not be shared by a link; share them with named people instead."
    return (
        f"{label} items may be shared only by a link for the force, for collaborators, "
        "or for named recipients who prove their e-mail address."
    )


def create_shared_link(
    session: Session,
    actor: Actor,
    *,
    item_id: str,
    options: SharedLinkCreate,
    settings: SharingSettings,
    mail: MailSettings,
    clock: Clock,
    reason: str | None = None,
    reason_required_for: Collection[str] = (),
    public_url: str = "",
) -> tuple[SharedLink, str]:
    """Create a link to a file or folder; returns it and its clear token (never stored). With `send_mail`
    the link is mailed to each recipient once this transaction commits. Raises NotFound, NotAllowed
    (classification, recipient domain), InputError."""
    item = access_item(session, actor, item_id, Action.SHARE)
    label = effective_label(session, item)
    reasons.require_reason(classification=label, reason=reason, required_for=reason_required_for)
    now = clock.now()
    recipients = _clean_recipients(options.recipients, settings)
    if options.name is not None:
        refuse_unsafe(options.name, field="name", what="The link's name")
    proof = (
        options.require_recipient_proof if options.require_recipient_proof is not None else bool(recipients)
    )
    if not labels.link_may_serve(label, access_level=options.access_level, require_recipient_proof=proof):
        raise NotAllowed(_ceiling_message(label), classification=label)
    if proof and not recipients:
        raise InputError("Recipient proof needs at least one recipient.", field="recipients")
    if proof and not mailer.is_configured(mail):
        raise InputError("Recipient proof mails a code, but no mail server is configured (settings.mail).")
    if options.send_mail and not recipients:
        raise InputError("Sending the link by e-mail needs at least one recipient.", field="recipients")
    if options.send_mail and not mailer.is_configured(mail):
        raise InputError("No mail server is configured (settings.mail), so the link cannot be e-mailed.")
    about = refuse_unsafe(options.about, field="about", what="The case or exhibit") if options.about else ""
    clear = new_token()
    link = SharedLink(
        id=new_id("sl"),
        item_id=item.id,
        token_hash=token_digest(clear),
        name=options.name,
        access_level=options.access_level,
        password_hash=identity_users.hash_password(options.password) if options.password else None,
        preview_only=options.preview_only,
        expires_at=_expiry(options.expires_at, options.expires_in_days, now),
        download_limit=options.download_limit,
        download_count=0,
        require_recipient_proof=proof,
        created_at=now,
        created_by_id=actor.user_id,
        about=about,
        notify_owner=options.notify_owner,
    )
    session.add(link)
    session.flush()
    _set_recipients(session, link, recipients)
    details = {
        "link_id": link.id,
        "access_level": link.access_level,
        "preview_only": link.preview_only,
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "download_limit": link.download_limit,
        "password": link.password_hash is not None,
        "recipients": recipients,
    }
    events.record(
        session, actor, AuditAction.LINK_CREATED, item=ref(item), details=details, reason=reason, at=now
    )
    if options.send_mail:
        link_mail.mail_link(
            session, link, item, recipients, url=f"{public_url}/s/{clear}", mail=mail, settings=settings
        )
        events.record(
            session,
            actor,
            AuditAction.LINK_MAILED,
            item=ref(item),
            details={"link_id": link.id, "recipients": recipients},
            at=now,
        )
    return link, clear


def access_link(
    session: Session, actor: Actor, link_id: str, *, to_revoke: bool = False
) -> tuple[SharedLink, Item]:
    """A link on an item the actor may share (owner side). With `to_revoke`, an administrator reaches
    every link (to stop a leak, whoever made it). Raises NotFound, the same for a link that does not
    exist and one on an item the actor may not share."""
    link = session.get(SharedLink, link_id)
    if link is None:
        raise NotFound("link", link_id)
    if to_revoke and actor.is_admin:
        return link, session.get_one(Item, link.item_id)
    try:
        return link, access_item(session, actor, link.item_id, Action.SHARE)
    except (NotFound, GuestMayNotShare):  # a guest learns nothing of the id either
        raise NotFound("link", link_id) from None


def list_links(session: Session, actor: Actor, *, item_id: str) -> list[SharedLink]:
    item = access_item(session, actor, item_id, Action.SHARE)
    return list(
        session.scalars(
            select(SharedLink).where(SharedLink.item_id == item.id).order_by(SharedLink.created_at)
        )
    )


def update_shared_link(
    session: Session,
    actor: Actor,
    *,
    link_id: str,
    changes: SharedLinkUpdate,
    settings: SharingSettings,
    clock: Clock,
) -> SharedLink:
    link, item = access_link(session, actor, link_id)
    now = clock.now()
    if link.revoked_at is not None:
        raise Gone("This link was revoked; create a new one.")
    changed = changes.model_dump(mode="json", exclude_unset=True, exclude={"password"})
    if changes.name is not None:
        link.name = refuse_unsafe(changes.name, field="name", what="The link's name")
    if "expires_at" in changes.model_fields_set:
        link.expires_at = _expiry(changes.expires_at, None, now)
    if "download_limit" in changes.model_fields_set:
        link.download_limit = changes.download_limit
    if changes.preview_only is not None:
        link.preview_only = changes.preview_only
    if changes.password is not None:
        link.password_hash = identity_users.hash_password(changes.password)
        changed["password"] = "changed"  # noqa: S105 - a note that it changed, not a password
    if changes.remove_password:
        link.password_hash = None
    _update_facts(link, changes)
    if changes.recipients is not None:
        _set_recipients(session, link, _clean_recipients(changes.recipients, settings))
    events.record(
        session,
        actor,
        AuditAction.LINK_CHANGED,
        item=ref(item),
        details={"link_id": link.id, "changes": changed},
        at=now,
    )
    return link


def _update_facts(link: SharedLink, changes: SharedLinkUpdate) -> None:
    if changes.about is not None:
        link.about = refuse_unsafe(changes.about, field="about", what="The case or exhibit")
    if changes.notify_owner is not None:
        link.notify_owner = changes.notify_owner


def revoke_shared_link(session: Session, actor: Actor, *, link_id: str, clock: Clock) -> SharedLink:
    """Stop a link at once: every later request, and every running download, is refused. Whoever may
    share the item (its owners, co-owners and editors) may revoke any link on it, and an administrator
    any link at all."""
    link, item = access_link(session, actor, link_id, to_revoke=True)
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        link.revoked_by_id = actor.user_id
        events.record(
            session,
            actor,
            AuditAction.LINK_REVOKED,
            item=ref(item),
            details={"link_id": link.id},
            at=clock.now(),
        )
    return link


# --- the visitor's side -------------------------------------------------------------------------


class Step(StrEnum):
    """What a visitor must do next before the link opens."""

    SIGN_IN = "sign_in"
    PASSWORD = "password"  # noqa: S105 - the name of a step
    EMAIL = "email"
    READY = "ready"


@dataclass(frozen=True)
class Visit:
    """What a visitor has proved so far (the door keeps it, signed, in a cookie) and who they are."""

    origin: Origin
    password_ok: bool = False
    verified_email: str | None = None
    user: Actor | None = None  # a signed-in member of the force, if any
    visitor_id: str | None = None  # a random id the door keeps in the visit cookie: this browser


def visitor_key(link: SharedLink, visit: Visit) -> str:
    """Who, for counting downloads once per visitor: this browser (its visit cookie), else the signed-in
    user, else the address and browser name. Hashed with the link so it names nobody."""
    who = visit.visitor_id or (visit.user.id if visit.user else None)
    who = who or f"{visit.origin.ip}|{visit.origin.user_agent}"
    return hashlib.sha256(f"{link.id}|{who}".encode()).hexdigest()


def find_link(
    session: Session, token: str, *, origin: Origin, settings: SharingSettings, clock: Clock
) -> SharedLink | None:
    """The link a token opens, live or not; None for a token that opens nothing, which is counted as a
    guess from the visitor's address (so commit before answering NotFound). Raises RateLimited when that
    address has guessed too often."""
    link_guessing.ensure_not_guessing(session, origin, settings=settings, clock=clock)
    link = session.scalar(select(SharedLink).where(SharedLink.token_hash == token_digest(token)))
    if link is None:
        link_guessing.count_guess(session, origin, settings=settings, clock=clock)
    return link


def ensure_live(session: Session, link: SharedLink, *, now: datetime) -> None:
    if link.revoked_at is not None:
        raise Gone("This link has been withdrawn.")
    if link.expires_at is not None and utc(link.expires_at) <= now:
        raise Gone("This link has expired.")
    item = session.get(Item, link.item_id)
    if item is None:
        raise Gone("This link no longer leads anywhere.")
    chain = ancestry(session, item)
    if any(node.trashed_at is not None for node in chain):
        raise Gone("This link no longer leads anywhere.")
    # Its own item classified above what the link may serve (raised, or moved under a higher folder):
    # the link leads nowhere, exactly as if the item were gone.
    if not labels.link_may_serve(
        labels.effective_label(chain),
        access_level=link.access_level,
        require_recipient_proof=link.require_recipient_proof,
    ):
        raise Gone("This link no longer leads anywhere.")


def ensure_live_now(session: Session, link: SharedLink, *, clock: Clock) -> None:
    """`ensure_live` judged by the one clock for decisions (audit.timeline), never a stepped-back one."""
    ensure_live(session, link, now=timeline.decision_time(session, clock))


def link_is_live(session: Session, link_id: str, *, clock: Clock) -> bool:
    """For a running download: is the link still neither revoked nor expired?"""
    link = session.get(SharedLink, link_id)
    if link is None:
        return False
    try:
        ensure_live(session, link, now=timeline.decision_time(session, clock))
    except Gone:
        return False
    return True


def visitor_actor(link: SharedLink, visit: Visit) -> Actor:
    """The Actor a visitor acts as: its rights come from the link; its label is the best name we have."""
    label = visit.verified_email or (visit.user.label if visit.user else "anonymous")
    return Actor(kind=ActorKind.LINK, id=link.id, label=label, origin=visit.origin)


def next_step(session: Session, link: SharedLink, visit: Visit) -> Step:
    """What the visitor must do next. Raises NotAllowed when a signed-in user is not a collaborator."""
    if link.access_level != "anyone" and visit.user is None:
        return Step.SIGN_IN
    if link.access_level == "collaborators":
        assert visit.user is not None
        item = session.get_one(Item, link.item_id)
        if not can(visit.user, Action.PREVIEW, ancestry(session, item)):
            raise NotAllowed("This link is only for people the item is already shared with.")
    if link.password_hash is not None and not visit.password_ok:
        return Step.PASSWORD
    if link.require_recipient_proof and not _is_recipient(session, link, visit.verified_email):
        return Step.EMAIL
    return Step.READY


def _is_recipient(session: Session, link: SharedLink, email: str | None) -> bool:
    if email is None:
        return False
    key = identity_users.email_key(email)
    return (
        session.scalar(
            select(LinkRecipient.id).where(LinkRecipient.link_id == link.id, LinkRecipient.email_key == key)
        )
        is not None
    )


def open_shared_link(session: Session, link: SharedLink, visit: Visit, *, clock: Clock) -> tuple[Item, Step]:
    """A visitor opens the landing page: recorded as a view; it uses no download."""
    step = next_step(session, link, visit)
    item = session.get_one(Item, link.item_id)
    events.record(
        session,
        visitor_actor(link, visit),
        AuditAction.LINK_OPENED,
        item=ref(item),
        details={"link_id": link.id, "step": step.value},
        at=clock.now(),
    )
    if step is Step.READY:
        link_notices.note(
            session, link, what="opened", visitor=visitor_actor(link, visit).label, at=clock.now()
        )
    return item, step


def require_ready(session: Session, link: SharedLink, visit: Visit) -> Actor:
    """The visitor's Actor once every condition of the link is met. Raises Unauthenticated (with `step`)."""
    step = next_step(session, link, visit)
    if step is not Step.READY:
        raise Unauthenticated(
            "Open the link's page first: it asks for what this link needs.", step=step.value
        )
    return visitor_actor(link, visit)


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
    now = clock.now()
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
    now = clock.now()
    limits = _limits(link, visit.origin, settings)
    throttling.ensure_not_throttled(session, limits, now=now)
    item = session.get_one(Item, link.item_id)
    actor = visitor_actor(link, visit)
    try:
        clean = identity_users.normalise_email(email)
    except InputError:
        clean = email.strip()[:320]
    if not _is_recipient(session, link, clean):
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
    ok = _is_recipient(session, link, email) and one_time_codes.consume_code(
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


def open_link_download(
    session: Session,
    link: SharedLink,
    visit: Visit,
    *,
    file_id: str,
    range_header: str | None,
    clock: Clock,
    if_range: str | None = None,
    resume_window: timedelta = timedelta(hours=12),
) -> content_reads.ContentToSend | None:
    """Authorise, count and record a download of original bytes through a link. None means the download
    limit is used up (the refusal is recorded: commit, then answer Gone). A request counts once per
    visitor and file: the same visitor's Range requests (seeking, resuming) within `resume_window` ride
    on the download they continue (sharing.download_claims); every one is still recorded as a read.
    Raises NotFound (also for preview-only links), Unauthenticated (steps missing), RangeNotSatisfiable."""
    actor = require_ready(session, link, visit)
    now = clock.now()
    allowed, counted = download_claims.count_once(
        session,
        link,
        target=file_id,
        visitor_key=visitor_key(link, visit),
        ranged=range_header is not None,
        now=now,
        window=resume_window,
    )
    if allowed:
        content = content_reads.open_content(
            session,
            actor,
            file_id=file_id,
            range_header=range_header,
            if_range=if_range,
            clock=clock,
            via="link",
        )
        if counted:
            link_notices.note(
                session, link, what=f"downloaded {content.file_name}", visitor=actor.label, at=now
            )
        return content
    item = session.get_one(Item, link.item_id)
    events.record(
        session,
        actor,
        AuditAction.LINK_DOWNLOAD_REFUSED,
        item=ref(item),
        details={"link_id": link.id, "file_id": file_id, "reason": "download limit reached"},
        at=now,
    )
    return None


def record_stream_cut(session: Session, link_id: str, *, file_id: str, sent: int, clock: Clock) -> None:
    """A running download stopped because its link was revoked or expired meanwhile."""
    link = session.get_one(SharedLink, link_id)
    item = session.get_one(Item, link.item_id)
    actor = Actor(kind=ActorKind.LINK, id=link.id, label="link")
    events.record(
        session,
        actor,
        AuditAction.LINK_STREAM_CUT,
        item=ref(item),
        details={"link_id": link.id, "file_id": file_id, "bytes_sent": sent},
        at=clock.now(),
    )
