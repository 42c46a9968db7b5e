"""Browser sessions: sign-in with a password, session lookup, sign-out, and sign-in throttling.

A session is a database row, so signing out (or an admin disabling the account) ends it at once on
every app server. The cookie token carries 256 random bits; only its SHA-256 is stored. Each session
has its own CSRF token, which forms and `fetch()` calls send back.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.models import AuditEvent
from strongroom.clock import Clock
from strongroom.config import AccountSettings
from strongroom.db.base import new_id
from strongroom.errors import NotFound, RateLimited, Unauthenticated
from strongroom.identity import groups, mfa, users
from strongroom.identity.models import User, WebSession

SESSION_LIFETIME = timedelta(hours=12)
"""A working shift: after this the browser signs in again, however active it was."""
IDLE_TIMEOUT = timedelta(hours=2)
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live and how sign-in failures lock out (from `Settings.accounts`)."""

    idle: timedelta = IDLE_TIMEOUT
    lifetime: timedelta = SESSION_LIFETIME
    account_failures: int = MAX_FAILURES_PER_ACCOUNT
    address_failures: int = MAX_FAILURES_PER_ADDRESS
    first_lock: timedelta = FAILURE_WINDOW
    local_passwords: bool = True

    @classmethod
    def of(cls, settings: AccountSettings) -> "SessionPolicy":
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            lifetime=timedelta(hours=settings.session_max_hours),
            account_failures=settings.lockout_failures,
            address_failures=settings.lockout_address_failures,
            first_lock=timedelta(minutes=settings.lockout_minutes),
            local_passwords=settings.local_passwords,
        )


DEFAULT_POLICY = SessionPolicy()
LONGEST_LOCK = timedelta(days=1)


class SecondFactorRequired(Exception):
    """The password was right; the account has a second factor, which must be checked next."""

    def __init__(self, user: User) -> None:
        super().__init__("A second factor is required.")
        self.user_id = user.id


@dataclass(frozen=True)
class SignedIn:
    """A live session: who it is, the token for the cookie (only on sign-in) and its CSRF token."""

    session_id: str
    actor: Actor
    user: User
    csrf_token: str
    cookie_token: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lock_until(
    session: Session, query: Select[datetime], *, allowed: int, policy: SessionPolicy
) -> datetime | None:
    """When a run of failures ends its lock: the first lock after `allowed` failures, doubled with each
    further failure (back-off), up to a day. None when there were fewer failures."""
    failures: list[datetime] = list(
        session.scalars(query.order_by(AuditEvent.occurred_at.desc()).limit(allowed + 20))
    )
    if len(failures) < allowed:
        return None
    extra = len(failures) - allowed
    lock = min(policy.first_lock * (1 << extra), LONGEST_LOCK)
    return failures[0] + lock


def check_throttle(
    session: Session, *, email: str, origin: Origin, clock: Clock, policy: SessionPolicy = DEFAULT_POLICY
) -> None:
    """Raise RateLimited while this account or address is locked after failed sign-ins (counted from the
    audit log since the account's last successful sign-in, within a day)."""
    key = users.email_key(email)[:320]
    now = timeline.decision_time(session, clock)
    since = now - LONGEST_LOCK
    last_success = session.scalar(
        select(func.max(AuditEvent.occurred_at)).where(
            AuditEvent.action == AuditAction.USER_LOGGED_IN.value, func.lower(AuditEvent.actor_label) == key
        )
    )
    failed = select(AuditEvent.occurred_at).where(
        AuditEvent.action == AuditAction.USER_LOGIN_FAILED.value, AuditEvent.occurred_at > since
    )
    by_account = failed.where(AuditEvent.actor_label == key)
    if last_success is not None:
        by_account = by_account.where(AuditEvent.occurred_at > last_success)
    until = _lock_until(session, by_account, allowed=policy.account_failures, policy=policy)
    if origin.ip:
        by_address = failed.where(AuditEvent.ip == origin.ip)
        address_until = _lock_until(session, by_address, allowed=policy.address_failures, policy=policy)
        if address_until is not None and (until is None or address_until > until):
            until = address_until
    if until is not None and until > now:
        wait = int((until - now).total_seconds()) + 1
        minutes = max(1, (wait + 59) // 60)
        raise RateLimited(
            f"Too many failed sign-in attempts. Wait {minutes} minutes and try again.", retry_after=wait
        )


def record_failure(session: Session, *, email: str, origin: Origin, clock: Clock, reason: str) -> None:
    """Record a failed sign-in, in its own transaction: it must be kept although the request fails."""
    anonymous = Actor(kind=ActorKind.ANONYMOUS, id=None, label=users.email_key(email)[:320], origin=origin)
    # Timed by the clock check_throttle judges locks by: by the app's clock, a process running behind
    # the database's would start locks that are already over.
    at = timeline.decision_time(session, clock)
    events.record(session, anonymous, AuditAction.USER_LOGIN_FAILED, details={"reason": reason}, at=at)


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    origin: Origin,
    clock: Clock,
    policy: SessionPolicy = DEFAULT_POLICY,
) -> SignedIn:
    """Check the password and open a session. Raises RateLimited, or Unauthenticated with one message
    for unknown account, wrong password and disabled account, so that accounts cannot be enumerated."""
    check_throttle(session, email=email, origin=origin, clock=clock, policy=policy)
    if not policy.local_passwords:
        raise Unauthenticated("Passwords are switched off here: sign in with your force's single sign-on.")
    user = users.get_user_by_email(session, email)
    # One argon2 verification on every path (no account, no password, wrong password), so timing does
    # not reveal which accounts exist or have passwords: password_matches uses a dummy hash for None.
    matches = users.password_matches(user.password_hash if user is not None else None, password)
    if user is None or not matches or user.disabled_at is not None:
        raise Unauthenticated("The e-mail address or password is not right.")
    if mfa.has_second_factor(session, user.id):
        raise SecondFactorRequired(user)
    return open_session(session, user, origin=origin, clock=clock, policy=policy, method="password")


def open_session(
    session: Session,
    user: User,
    *,
    origin: Origin,
    clock: Clock,
    policy: SessionPolicy = DEFAULT_POLICY,
    method: str,
) -> SignedIn:
    """Open a browser session for a user whose sign-in is complete (password and any second factor)."""
    if user.disabled_at is not None:
        raise Unauthenticated("The e-mail address or password is not right.")
    now = timeline.decision_time(session, clock)  # its expiry is judged by this clock: open it by it
    clear = secrets.token_urlsafe(32)
    row = WebSession(
        id=new_id("ws"),
        user_id=user.id,
        token_hash=_digest(clear),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:512] or None,
    )
    session.add(row)
    session.flush()
    actor = users.actor_for(user, origin=origin, group_ids=groups.group_ids_of(session, user.id))
    events.record(
        session,
        actor,
        AuditAction.USER_LOGGED_IN,
        item=ItemRef("user", user.id, user.email),
        details={"method": method, "session_id": row.id},
        at=now,
    )
    return SignedIn(session_id=row.id, actor=actor, user=user, csrf_token=row.csrf_token, cookie_token=clear)


def resume(
    session: Session,
    *,
    cookie_token: str,
    origin: Origin,
    clock: Clock,
    policy: SessionPolicy = DEFAULT_POLICY,
) -> SignedIn | None:
    """The live session behind a cookie token, or None when it is unknown, expired, idle or revoked."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(cookie_token)))
    now = timeline.decision_time(session, clock)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.lifetime:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    actor = users.actor_for(user, origin=origin, group_ids=groups.group_ids_of(session, user.id))
    return SignedIn(session_id=row.id, actor=actor, user=user, csrf_token=row.csrf_token)


def sign_out(session: Session, *, session_id: str, clock: Clock) -> None:
    """End one session at once."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def sign_out_everywhere(session: Session, *, user_id: str, clock: Clock, except_id: str | None = None) -> int:
    """End every session of a user (account disabled, password changed), but `except_id` (the browser
    that changed its own password); returns how many ended."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if except_id is not None:
        query = query.where(WebSession.id != except_id)
    result = session.execute(query.values(revoked_at=clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def open_sessions(
    session: Session, *, user_id: str, clock: Clock, policy: SessionPolicy = DEFAULT_POLICY
) -> list[WebSession]:
    """A user's live browser sessions, newest first: what "Your sessions" lists."""
    now = clock.now()
    rows = session.scalars(
        select(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .order_by(WebSession.last_seen_at.desc())
    )
    return [row for row in rows if now - row.last_seen_at <= policy.idle]


def revoke_session(session: Session, actor: Actor, *, session_id: str, clock: Clock) -> None:
    """End one of the actor's own sessions (admins: anyone's). Raises NotFound."""
    row = session.get(WebSession, session_id)
    if row is None or (row.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("session", session_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
    events.record(
        session,
        actor,
        AuditAction.SESSION_REVOKED,
        item=ItemRef("user", row.user_id),
        details={"session_id": row.id},
        at=clock.now(),
    )


def force_sign_out(session: Session, actor: Actor, *, user_id: str, clock: Clock) -> int:
    """An administrator ends every browser session of an account at once; returns how many."""
    if not actor.is_admin:
        raise NotFound("user", user_id)
    ended = sign_out_everywhere(session, user_id=user_id, clock=clock)
    events.record(
        session,
        actor,
        AuditAction.SESSION_REVOKED,
        item=ItemRef("user", user_id),
        details={"sessions_ended": ended, "forced": True},
        at=clock.now(),
    )
    return ended
