"""Looking after accounts: your own password, and an administrator disabling an account or resetting
its password. Every change is audited.

Passwords follow the NCSC's guidance: long enough (12 characters), not a well-known password, and no
composition rules (they push people to predictable substitutions). A disabled account's sessions and
tokens stop at the next request: `sessions.resume` and `tokens.authenticate_token` check `disabled_at`.
"""

import secrets

from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.errors import InputError, NotAllowed, NotFound
from strongroom.identity import sessions, users
from strongroom.identity.models import User

# The most common passwords that are 12 characters or more (from the NCSC's top 100,000 list and
# breach corpora); shorter ones are refused by length already. Compared case-insensitively.
DENIED_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "changemenow!",
        "iloveyou1234",
        "letmein12345",
        "password1234",
        "password12345",
        "password123!",
        "passwordpassword",
        "password@123",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiopasdfghjkl",
        "welcome12345",
        "welcome@1234",
        "strongroom12",
        "strongroom123",
        "policepolice",
        "police123456",
    }
)


# Words that, padded with digits, symbols or repeats, make the passwords people choose first and
# guessing tools try first: "Password2026!", "qwertyqwerty1", "Strongroom123".
DENIED_STEMS = frozenset(
    {
        "password", "qwerty", "qwertyuiop", "asdfgh", "zxcvbn",
        "letmein", "welcome", "iloveyou", "changeme", "admin", "administrator", "football", "monkey",
        "dragon", "sunshine", "princess", "baseball", "master", "trustno1", "abc123", "123abc",
        "police", "constable", "sergeant", "officer", "strongroom", "summer", "winter", "autumn",
        "spring", "january", "december", "secret", "login", "default", "test", "guest",
    }
)  # fmt: skip


_LEET = str.maketrans("0134@$57", "oieaasst")


def _stem(password: str) -> str:
    """The word under a password: padding digits and symbols at either end dropped, look-alike digits
    read as letters (P@ssw0rd), other non-letters dropped, and a word typed twice kept once."""
    core = password.casefold().strip("0123456789!?.,;:-_*#~+=&%^()[]{} ")
    letters = "".join(c for c in core.translate(_LEET) if c.isalpha())
    half = len(letters) // 2
    if half and letters[:half] == letters[half:]:
        letters = letters[:half]
    return letters


def check_new_password(password: str, *, email: str) -> None:
    """Refuse a password people or scripts would guess first. Raises InputError (field `password`)."""
    if len(password) < users.MIN_PASSWORD_LENGTH:
        raise InputError(
            f"Choose a password of at least {users.MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    lowered = password.casefold()
    stem = _stem(password)
    local_part = email.casefold().split("@")[0]
    guessable = (
        lowered in DENIED_PASSWORDS or stem in DENIED_STEMS or (not stem.strip("@") and len(set(lowered)) < 6)
    )
    if guessable or lowered == email.casefold() or stem == _stem(local_part) or len(set(lowered)) < 3:
        raise InputError(
            "That password is too easy to guess. Try three random words together.", field="password"
        )


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def _admin_only(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotFound("user", None)


def change_own_password(
    session: Session,
    actor: Actor,
    *,
    old_password: str,
    new_password: str,
    keep_session_id: str | None,
    clock: Clock,
) -> None:
    """Change the signed-in user's password; the old one is required. The user's other browser
    sessions end. Raises InputError (field `old_password` or `password`)."""
    user = _user(session, actor.user_id or "")
    if not users.password_matches(user.password_hash, old_password):
        raise InputError("Your current password is not right.", field="old_password")
    check_new_password(new_password, email=user.email)
    user.password_hash = users.hash_password(new_password)
    user.must_change_password = False
    ended = sessions.sign_out_everywhere(session, user_id=user.id, clock=clock, except_id=keep_session_id)
    events.record(
        session,
        actor,
        AuditAction.USER_PASSWORD_CHANGED,
        item=ItemRef("user", user.id, user.email),
        details={"other_sessions_ended": ended},
        at=clock.now(),
    )


def set_disabled(session: Session, actor: Actor, *, user_id: str, disabled: bool, clock: Clock) -> User:
    """Disable (or enable again) an account; admins only. Raises NotFound, NotAllowed (yourself),
    LastAdmin (the last active administrator)."""
    _admin_only(actor)
    user = _user(session, user_id)
    if disabled:
        users.refuse_last_admin(session, user)  # first: the last administrator hears why, even of themself
    if disabled and user.id == actor.user_id:
        raise NotAllowed("You cannot disable your own account; ask another administrator.")
    if (user.disabled_at is not None) == disabled:
        return user  # already so: nothing changed, nothing to record
    user.disabled_at = clock.now() if disabled else None
    ended = sessions.sign_out_everywhere(session, user_id=user.id, clock=clock) if disabled else 0
    events.record(
        session,
        actor,
        AuditAction.USER_DISABLED if disabled else AuditAction.USER_ENABLED,
        item=ItemRef("user", user.id, user.email),
        details={"sessions_ended": ended} if disabled else {},
        at=clock.now(),
    )
    return user


def reset_password(session: Session, actor: Actor, *, user_id: str, clock: Clock) -> tuple[User, str]:
    """Give an account a new random password, returned once to show to the admin (never stored in
    clear, never audited); the user's sessions end, and the web asks them for a password of their own
    at their next sign-in (an admin knew this one). Admins only. Raises NotFound."""
    _admin_only(actor)
    user = _user(session, user_id)
    clear = "-".join(
        secrets.token_urlsafe(6) for _ in range(3)
    )  # three groups of 8 characters, easy to read out
    user.password_hash = users.hash_password(clear)
    user.must_change_password = True
    ended = sessions.sign_out_everywhere(session, user_id=user.id, clock=clock)
    events.record(
        session,
        actor,
        AuditAction.USER_PASSWORD_RESET,
        item=ItemRef("user", user.id, user.email),
        details={"sessions_ended": ended},
        at=clock.now(),
    )
    return user, clear
