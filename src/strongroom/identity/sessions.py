"""Browser sessions: sign-in with a password, session lookup, sign-out, and sign-in throttling.

A session is a database row, so signing out (or an admin disabling the account) ends it at once on
every app server. The cookie token carries 256 random bits; only its SHA-256 is stored. Each session
has its own CSRF token, which forms and `fetch()` calls send back.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.models import AuditEvent
from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.errors import RateLimited, Unauthenticated
from strongroom.identity import groups, users
from strongroom.identity.models import User, WebSession

SESSION_LIFETIME = timedelta(hours=12)
"""A working shift: after this the browser signs in again, however active it was."""
IDLE_TIMEOUT = timedelta(hours=2)
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


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


def _recent_failures(session: Session, *, clock: Clock, email: str, ip: str | None) -> tuple[int, int]:
    since = clock.now() - FAILURE_WINDOW
    recent = select(func.count()).where(
        AuditEvent.action == AuditAction.USER_LOGIN_FAILED.value, AuditEvent.occurred_at > since
    )
    by_account = session.scalar(recent.where(AuditEvent.actor_label == email)) or 0
    by_address = session.scalar(recent.where(AuditEvent.ip == ip)) if ip else 0
    return by_account, by_address or 0


def check_throttle(session: Session, *, email: str, origin: Origin, clock: Clock) -> None:
    """Raise RateLimited when this account or address failed too often lately (counted from the audit log)."""
    key = users.email_key(email)[:320]
    by_account, by_address = _recent_failures(session, clock=clock, email=key, ip=origin.ip)
    if by_account >= MAX_FAILURES_PER_ACCOUNT or by_address >= MAX_FAILURES_PER_ADDRESS:
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        raise RateLimited(
            f"Too many failed sign-in attempts. Wait {minutes} minutes and try again.",
            retry_after=int(FAILURE_WINDOW.total_seconds()),
        )


def record_failure(session: Session, *, email: str, origin: Origin, clock: Clock, reason: str) -> None:
    """Record a failed sign-in, in its own transaction: it must be kept although the request fails."""
    anonymous = Actor(kind=ActorKind.ANONYMOUS, id=None, label=users.email_key(email)[:320], origin=origin)
    events.record(
        session, anonymous, AuditAction.USER_LOGIN_FAILED, details={"reason": reason}, at=clock.now()
    )


def sign_in(session: Session, *, email: str, password: str, origin: Origin, clock: Clock) -> SignedIn:
    """Check the password and open a session. Raises RateLimited, or Unauthenticated with one message
    for unknown account, wrong password and disabled account, so that accounts cannot be enumerated."""
    check_throttle(session, email=email, origin=origin, clock=clock)
    user = users.get_user_by_email(session, email)
    # One argon2 verification on every path (no account, no password, wrong password), so timing does
    # not reveal which accounts exist or have passwords: password_matches uses a dummy hash for None.
    matches = users.password_matches(user.password_hash if user is not None else None, password)
    if user is None or not matches or user.disabled_at is not None:
        raise Unauthenticated("The e-mail address or password is not right.")
    now = clock.now()
    clear = secrets.token_urlsafe(32)
    row = WebSession(
        id=new_id("ws"),
        user_id=user.id,
        token_hash=_digest(clear),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
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
        details={"method": "password", "session_id": row.id},
        at=now,
    )
    return SignedIn(session_id=row.id, actor=actor, user=user, csrf_token=row.csrf_token, cookie_token=clear)


def resume(session: Session, *, cookie_token: str, origin: Origin, clock: Clock) -> SignedIn | None:
    """The live session behind a cookie token, or None when it is unknown, expired, idle or revoked."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(cookie_token)))
    now = timeline.decision_time(session, clock)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT:
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


def open_session(session: Session, *, user: User, origin: Origin, clock: Clock, method: str) -> SignedIn:
    """Open a session for a user whose identity another way already proved (single sign-on), and
    audit the sign-in with its method. The caller has checked the account is not disabled."""
    now = clock.now()
    clear = secrets.token_urlsafe(32)
    row = WebSession(
        id=new_id("ws"),
        user_id=user.id,
        token_hash=_digest(clear),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
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
