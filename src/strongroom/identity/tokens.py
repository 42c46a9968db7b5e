"""Personal access tokens: issued once in clear, stored as SHA-256, with expiry and revocation.

Tokens carry 256 random bits, so a fast hash is safe to store (no password stretching needed).
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor, Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.errors import NotFound, Unauthenticated
from strongroom.identity import groups
from strongroom.identity.models import AccessToken, User
from strongroom.identity.users import actor_for

TOKEN_PREFIX = "srpat_"  # noqa: S105 - a public prefix so secret scanners can spot leaked tokens
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    actor: Actor,
    *,
    user: User,
    name: str,
    expires_at: datetime | None,
    clock: Clock,
) -> tuple[AccessToken, str]:
    """Create a token for `user`; returns the row and the clear token, which is never stored."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        id=new_id("tok"),
        user_id=user.id,
        name=name,
        token_hash=_digest(clear),
        created_at=clock.now(),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.TOKEN_ISSUED,
        item=ItemRef("user", user.id, user.email),
        details={
            "token_id": token.id,
            "name": name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        at=clock.now(),
    )
    return token, clear


def ends_after(session: Session, clock: Clock, days: int | None) -> datetime | None:
    """When a token good for `days` ends (None: never), counted from the clock that judges its expiry, so
    an app process whose clock runs ahead cannot issue a token that outlives its lifetime."""
    return timeline.decision_time(session, clock) + timedelta(days=days) if days is not None else None


# Built once: it runs at every request of a token (issue 14).
_TOKEN_AND_USER = (
    select(AccessToken, User)
    .join(User, User.id == AccessToken.user_id)
    .where(AccessToken.token_hash == bindparam("digest"))
)


def authenticate_token(session: Session, clear: str, *, origin: Origin, clock: Clock) -> Actor:
    """The actor a bearer token stands for. Raises Unauthenticated for unknown, expired or revoked tokens.

    Runs at every request of a token (issue 14: the Range GET hot path), so it sends two queries: the
    token with its user (one join), and the user's groups. The decision time (the database's clock, or
    the audit trail's high-water mark on SQLite: audit.timeline) is read only for a token that expires,
    the only decision here a stepped-back clock could get wrong; revocation and a disabled account are
    checked at every request whatever the clock says."""
    found = session.execute(_TOKEN_AND_USER, {"digest": _digest(clear)}).one_or_none()
    token, user = found if found is not None else (None, None)
    if token is None or token.revoked_at is not None:
        raise Unauthenticated("The access token is unknown, expired or revoked.")
    now = timeline.decision_time(session, clock) if token.expires_at is not None else clock.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("The access token is unknown, expired or revoked.")
    if user is None or user.disabled_at is not None:
        raise Unauthenticated("The account of this token is disabled.")
    # Recording every use would turn each read request into a database write; minutes are enough.
    # (A clock stepped back only delays this stamp: `now - last_used_at` is then negative.)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    return actor_for(user, origin=origin, group_ids=groups.group_ids_of(session, user.id))


def revoke_token(session: Session, actor: Actor, *, token_id: str, clock: Clock) -> None:
    """Revoke one of the actor's own tokens (admins: anyone's). Raises NotFound."""
    token = session.get(AccessToken, token_id)
    if token is None or (token.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("token", token_id)
    token.revoked_at = clock.now()
    events.record(
        session,
        actor,
        AuditAction.TOKEN_REVOKED,
        item=ItemRef("user", token.user_id),
        details={"token_id": token_id},
        at=clock.now(),
    )


def list_tokens(session: Session, user_id: str) -> list[AccessToken]:
    return list(
        session.scalars(
            select(AccessToken).where(AccessToken.user_id == user_id).order_by(AccessToken.created_at)
        )
    )
