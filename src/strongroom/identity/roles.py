"""An account's role in the force: organisation admin, auditor, user or external guest.

What each role may do is decided in `access.policy.can()` (`AccountRole`, `OrgAction`); this module
only changes and records it. `is_admin` stays the stored truth for administrators, so that the
columns never disagree: the role "admin" sets it, any other role clears it.
"""

from sqlalchemy.orm import Session

from strongroom.access.actions import AccountRole
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.errors import InputError, NotAllowed, NotFound
from strongroom.identity import users
from strongroom.identity.models import User

ROLE_NAMES = {
    AccountRole.ADMIN: "Organisation administrator",
    AccountRole.AUDITOR: "Auditor (audit and reports, read-only)",
    AccountRole.USER: "Staff",
    AccountRole.GUEST: "External guest (sees only what is shared with them)",
}


def role_of(user: User) -> AccountRole:
    if user.is_admin:
        return AccountRole.ADMIN
    try:
        return AccountRole(user.role)
    except ValueError:
        return AccountRole.GUEST


def set_role(session: Session, actor: Actor, *, user_id: str, role: str, clock: Clock) -> User:
    """Give an account a role; administrators only, never to themselves (so one always remains)."""
    if not actor.is_admin:  # the system and administrators (identity sits below access.policy)
        raise NotFound("user", None)
    try:
        new = AccountRole(role)
    except ValueError:
        raise InputError(f"{role!r} is not a role.", field="role") from None
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    old = role_of(user)
    if old is AccountRole.ADMIN and new is not AccountRole.ADMIN:
        users.refuse_last_admin(session, user)
    if user.id == actor.user_id:
        raise NotAllowed("You cannot change your own role; ask another administrator.")
    if old == new:
        return user
    user.is_admin = new is AccountRole.ADMIN
    user.role = new.value
    user.version += 1
    user.updated_at = clock.now()
    events.record(
        session,
        actor,
        AuditAction.USER_ROLE_CHANGED,
        item=ItemRef("user", user.id, user.email),
        details={"from": old.value, "to": new.value},
        at=clock.now(),
    )
    return user
