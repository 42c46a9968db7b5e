"""Local accounts: creation, passwords (argon2id) and lookup."""

import secrets
from contextlib import suppress
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.errors import Conflict, InputError, LastAdmin
from strongroom.identity.models import User

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 12


def email_key(email: str) -> str:
    return email.strip().casefold()


def normalise_email(email: str) -> str:
    """The address as typed, trimmed. Raises UnsafeText (control or bidi characters), InputError."""
    email = refuse_unsafe(email, field="email", what="The e-mail address").strip()
    local, sep, domain = email.partition("@")
    if not sep or not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 320:
        raise InputError(f"{email!r} is not an e-mail address.", field="email")
    return email


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", field="password")
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one behind `password_hash`. Always runs exactly one argon2 verification,
    against a dummy hash when there is no usable hash (no account, an account without a password), so
    the time taken does not tell which accounts exist or have passwords."""
    usable = password_hash if password_hash is not None and password_hash.startswith("$argon2") else None
    try:
        _hasher.verify(usable or _dummy_hash(), password)  # raises unless it matches
    except InvalidHashError:
        # A damaged stored hash fails before any work is done: spend the same time anyway.
        _spend_one_verification(password)
        return False
    except VerificationError:
        return False
    return usable is not None


def _spend_one_verification(password: str) -> None:
    with suppress(VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), password)


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    display_name: str | None = None,
    password: str | None = None,
    is_admin: bool = False,
    clock: Clock,
) -> User:
    """Create a local account. Raises Conflict if the e-mail is taken, InputError for bad input."""
    email = normalise_email(email)
    if display_name is not None:
        refuse_unsafe(display_name, field="display_name", what="The display name")
    if session.scalar(select(User.id).where(User.email_key == email_key(email))) is not None:
        raise Conflict(f"A user with e-mail {email} already exists.", field="email")
    user = User(
        id=new_id("u"),
        email=email,
        email_key=email_key(email),
        display_name=display_name or email.split("@")[0],
        password_hash=hash_password(password) if password else None,
        is_admin=is_admin,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.USER_CREATED,
        item=ItemRef("user", user.id, user.email),
        details={"is_admin": is_admin},
        at=clock.now(),
    )
    return user


def get_user_by_email(session: Session, email: str) -> User | None:
    """Unchecked lookup by e-mail, for sign-in and the CLI."""
    return session.scalar(select(User).where(User.email_key == email_key(email)))


def actor_for(user: User, *, origin: Origin | None = None, group_ids: frozenset[str] = frozenset()) -> Actor:
    """The Actor a user acts as; pass `group_ids` (identity.groups.group_ids_of) so group grants apply."""
    return Actor(
        kind=ActorKind.USER,
        id=user.id,
        label=user.email,
        is_admin=user.is_admin,
        group_ids=group_ids,
        origin=origin or Origin(),
        role="admin" if user.is_admin else user.role,
    )


def refuse_last_admin(session: Session, user: User) -> None:
    """Refuse (LastAdmin, 409) to disable, delete or demote `user` if it is the last active
    organisation administrator, whoever asks (an administrator, the CLI, the directory): a force
    locked out of its own administration can only be let in again by editing the database.

    The active administrators' rows are locked (PostgreSQL), so two administrators disabling each
    other at once cannot both succeed."""
    if not user.is_admin or user.disabled_at is not None:
        return
    admins = session.scalars(
        select(User.id).where(User.is_admin.is_(True), User.disabled_at.is_(None)).with_for_update()
    ).all()
    if not set(admins) - {user.id}:
        raise LastAdmin(
            "This is the last active organisation administrator; make another administrator first."
        )
