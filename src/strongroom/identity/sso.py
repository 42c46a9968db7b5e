"""Single sign-on, whatever the protocol (OIDC in identity.oidc, SAML in identity.saml): sign-ins in
flight, accounts made or linked on first sign-in, directory groups from the provider, and the audit of
every outcome.

An account is found by the provider's stable subject, never by e-mail alone: an e-mail address links a
first sign-in to an existing account only when the provider is trusted for e-mail and says the address
is verified. Otherwise anyone able to set their e-mail at the provider could take over an account.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.errors import InputError, SignInRefused
from strongroom.identity import users
from strongroom.identity.models import Group, GroupMember, SsoIdentity, SsoReplay, SsoRequest, User

MAX_GROUPS = 500
"""More groups than this in one sign-in is refused: a claim that size is a misconfiguration or an attack."""


@dataclass(frozen=True)
class SsoProfile:
    """Who the provider says signed in, after its signature and claims were checked."""

    protocol: str  # "oidc" or "saml"
    provider: str  # the issuer URL or the IdP's entity id
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    groups: tuple[str, ...] = ()


def browser_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    *,
    protocol: str,
    request_id: str,
    next_url: str,
    browser_token: str | None,
    clock: Clock,
    lifetime: timedelta,
    nonce: str | None = None,
    code_verifier: str | None = None,
) -> SsoRequest:
    """Remember a sign-in sent to the provider, so that its answer can be matched once."""
    now = timeline.decision_time(session, clock)  # `finish` judges its expiry by this clock
    session.execute(delete(SsoRequest).where(SsoRequest.expires_at < now - timedelta(days=1)))
    row = SsoRequest(
        id=request_id,
        protocol=protocol,
        browser_hash=browser_hash(browser_token) if browser_token else None,
        nonce=nonce,
        code_verifier=code_verifier,
        next_url=next_url,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return row


def finish(
    session: Session, *, protocol: str, request_id: str, browser_token: str | None, clock: Clock
) -> SsoRequest:
    """Use up the sign-in in flight that an answer names (OIDC state, SAML InResponseTo). Raises
    SignInRefused (reason `unknown_request`, `replayed`, `expired`, `other_browser`)."""
    row = session.get(SsoRequest, request_id[:100], with_for_update=True) if request_id else None
    if row is None or row.protocol != protocol:
        raise SignInRefused("This sign-in was not started here. Start again.", reason="unknown_request")
    if row.finished_at is not None:
        raise SignInRefused("This sign-in was already used. Start again.", reason="replayed")
    now = timeline.decision_time(session, clock)
    row.finished_at = now
    if row.expires_at <= now:
        raise SignInRefused("The sign-in took too long. Start again.", reason="expired")
    # Every sign-in is started with a browser cookie; a row without one is refused, never unchecked.
    if row.browser_hash is None or not hmac.compare_digest(
        row.browser_hash, browser_hash(browser_token or "")
    ):
        raise SignInRefused(
            "This sign-in was started in another browser. Start again.", reason="other_browser"
        )
    return row


REPLAY_KEPT = timedelta(days=1)


def remember_assertion(session: Session, *, assertion_id: str, expires_at: datetime, clock: Clock) -> None:
    """Accept an assertion id once. Raises SignInRefused (reason `replayed`)."""
    now = timeline.decision_time(session, clock)
    # Kept a day past its end: the assertion's end is judged by the app's clock (with pysaml2's allowed
    # skew), this purge by the deciding one; purged at its end, a replay within the skew would pass.
    session.execute(delete(SsoReplay).where(SsoReplay.expires_at < now - REPLAY_KEPT))
    if session.get(SsoReplay, assertion_id[:200]) is not None:
        raise SignInRefused("This sign-in answer was already used. Start again.", reason="replayed")
    try:
        with session.begin_nested():
            session.add(SsoReplay(assertion_id=assertion_id[:200], expires_at=max(expires_at, now)))
    except IntegrityError as exc:  # the same assertion posted twice at once: the second one loses
        raise SignInRefused("This sign-in answer was already used. Start again.", reason="replayed") from exc


def account_for(
    session: Session, profile: SsoProfile, *, trust_email: bool, clock: Clock
) -> tuple[User, bool]:
    """The account a checked sign-in belongs to, made on first sign-in; returns it and whether it is new.
    Raises SignInRefused (reason `disabled`, `no_email`, `email_taken`)."""
    link = session.get(SsoIdentity, (profile.provider, profile.subject))
    now = clock.now()
    system = Actor.system(label=f"sso:{profile.protocol}")
    if link is not None:
        user = session.get(User, link.user_id)
        assert user is not None  # the link is deleted with the user (ON DELETE CASCADE)
        link.last_sign_in_at = now
        created = False
    else:
        if not profile.email:
            raise SignInRefused(
                "Your force account has no e-mail address, so Strongroom cannot make an account for it.",
                reason="no_email",
            )
        user = users.get_user_by_email(session, profile.email)
        created = user is None
        if user is not None and not (trust_email and profile.email_verified):
            raise SignInRefused(
                "A Strongroom account with this e-mail address already exists. Ask an administrator "
                "to link it to your force account.",
                reason="email_taken",
            )
        if user is None:
            try:
                user = users.create_user(
                    session, system, email=profile.email, display_name=_display_name(profile), clock=clock
                )
            except InputError as exc:  # the provider's e-mail is not one Strongroom can keep
                raise SignInRefused(
                    "Your force account's e-mail address cannot be used here.", reason="bad_email"
                ) from exc
        link = SsoIdentity(
            provider=profile.provider,
            subject=profile.subject,
            user_id=user.id,
            linked_at=now,
            last_sign_in_at=now,
        )
        try:
            with session.begin_nested():
                session.add(link)
        except IntegrityError as exc:  # the same first sign-in finished at once in another browser
            raise SignInRefused("You signed in twice at once. Start again.", reason="concurrent") from exc
        events.record(
            session,
            system,
            AuditAction.USER_SSO_LINKED,
            item=ItemRef("user", user.id, user.email),
            details={"provider": profile.provider, "subject": profile.subject, "new_account": created},
            at=now,
        )
    if user.disabled_at is not None:
        raise SignInRefused("This account is disabled. Ask your Strongroom administrator.", reason="disabled")
    return user, created


def _display_name(profile: SsoProfile) -> str | None:
    if not profile.name:
        return None
    try:
        return refuse_unsafe(profile.name, field="display_name", what="The name")[:200]
    except InputError:
        return None  # a name the audit cannot keep safely: the e-mail's local part is shown instead


def sync_groups(session: Session, *, user: User, names: tuple[str, ...], source: str, clock: Clock) -> None:
    """Make the user's directory-group memberships match the provider's list: directory groups are
    made as needed and read-only here; local groups are left alone. Raises SignInRefused (too many)."""
    if len(names) > MAX_GROUPS:
        raise SignInRefused(
            "Your force account is in too many groups for Strongroom.", reason="too_many_groups"
        )
    # A name the audit cannot keep safely (control or text-direction characters) is left out: the
    # user then has fewer rights, never more.
    wanted = {name.strip()[:200] for name in names if name.strip() and _safe(name)}
    system = Actor.system(label=f"sso:{source}")
    now = clock.now()
    current = {
        group.external_id: group
        for group in session.scalars(
            select(Group)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(GroupMember.user_id == user.id, Group.external_id.is_not(None))
        )
    }
    for external_id, group in current.items():
        if external_id not in wanted:
            session.execute(
                delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == user.id)
            )
            _record_member(session, system, AuditAction.GROUP_MEMBER_REMOVED, group, user=user, now=now)
    for external_id in sorted(wanted - set(current)):
        group = session.scalar(select(Group).where(Group.external_id == external_id)) or _directory_group(
            session, system, external_id, now
        )
        session.add(GroupMember(group_id=group.id, user_id=user.id, added_at=now))
        session.flush()
        _record_member(session, system, AuditAction.GROUP_MEMBER_ADDED, group, user=user, now=now)


def _safe(name: str) -> bool:
    try:
        refuse_unsafe(name, field="groups", what="A group name")
    except InputError:
        return False
    return True


def _directory_group(session: Session, system: Actor, external_id: str, now: datetime) -> Group:
    name = refuse_unsafe(external_id, field="groups", what="A group name")
    if session.scalar(select(Group.id).where(Group.name_key == name.casefold())) is not None:
        name = f"{name} (directory)"[:200]  # a local group already has the name: keep both apart
    group = Group(
        id=new_id("grp"), name=name, name_key=name.casefold(), external_id=external_id, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(group)
    except IntegrityError:  # another member's first sign-in made it at the same moment: use theirs
        made = session.scalar(select(Group).where(Group.external_id == external_id))
        if made is None:
            raise
        return made
    events.record(
        session,
        system,
        AuditAction.GROUP_CREATED,
        item=ItemRef("group", group.id, group.name),
        details={"directory": True},
        at=now,
    )
    return group


def _record_member(
    session: Session, system: Actor, action: AuditAction, group: Group, *, user: User, now: datetime
) -> None:
    details = {"user_id": user.id, "directory": True}
    events.record(
        session, system, action, item=ItemRef("group", group.id, group.name), details=details, at=now
    )


def record_refusal(
    session: Session, *, protocol: str, reason: str, label: str | None, origin: Origin, clock: Clock
) -> None:
    """Record a refused single sign-on, in its own transaction, like a failed password sign-in."""
    anonymous = Actor(
        kind=ActorKind.ANONYMOUS, id=None, label=(label or f"sso:{protocol}")[:320], origin=origin
    )
    events.record(
        session,
        anonymous,
        AuditAction.USER_LOGIN_FAILED,
        details={"method": protocol, "reason": reason},
        at=clock.now(),
    )


def finished_request_of(session: Session, *, session_id: str) -> SsoRequest | None:
    """The single sign-on that opened a web session, if one did (for signing out at the provider)."""
    return session.scalar(select(SsoRequest).where(SsoRequest.session_id == session_id))
