"""Shared links, the owner's side: create, change, list, revoke; and the link's recipients.

A link's token is 192 random bits, shown once and stored only as its SHA-256. The visitor's side (open,
download) is in `link_visits`; the password and recipient proof are in `link_proofs`.
"""

import hashlib
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.access import labels
from strongroom.access.actions import Action
from strongroom.access.loaders import access_item, effective_label
from strongroom.actors import Actor
from strongroom.audit import events, reasons, timeline
from strongroom.audit.events import AuditAction
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock
from strongroom.config import MailSettings, SharingSettings
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.db.base import new_id
from strongroom.errors import Gone, GuestMayNotShare, InputError, NotAllowed, NotFound
from strongroom.identity import users as identity_users
from strongroom.sharing import (
    link_mail,
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
    now = timeline.decision_time(session, clock)  # `expires_in_days` counts from the deciding clock
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
    now = timeline.decision_time(session, clock)
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


def is_recipient(session: Session, link: SharedLink, email: str | None) -> bool:
    if email is None:
        return False
    key = identity_users.email_key(email)
    return (
        session.scalar(
            select(LinkRecipient.id).where(LinkRecipient.link_id == link.id, LinkRecipient.email_key == key)
        )
        is not None
    )
