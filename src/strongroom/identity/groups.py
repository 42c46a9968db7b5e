"""Groups of users: create, add and remove members, and the group ids an Actor carries.

Local groups are managed by admins; SCIM fills the same tables later (matching on `external_id`).
"""

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.errors import Conflict, InputError, NotAllowed, NotFound
from strongroom.identity.models import Group, GroupMember, User


def _ref(group: Group) -> ItemRef:
    return ItemRef("group", group.id, group.name)


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        # Group administration is an admin door; to anyone else it does not exist.
        raise NotFound("group", None)


def create_group(
    session: Session, actor: Actor, *, name: str, clock: Clock, external_id: str | None = None
) -> Group:
    """Create a group. Raises NotFound (not an admin), InputError, Conflict (name taken)."""
    _require_admin(actor)
    clean = refuse_unsafe(name, field="name", what="The group name").strip()
    if not clean or len(clean) > 200:
        raise InputError("A group name has 1 to 200 characters.", field="name")
    if session.scalar(select(Group.id).where(Group.name_key == clean.casefold())) is not None:
        raise Conflict(f"A group named {clean!r} already exists.", field="name")
    group = Group(
        id=new_id("grp"),
        name=clean,
        name_key=clean.casefold(),
        external_id=external_id,
        created_at=clock.now(),
    )
    session.add(group)
    session.flush()
    events.record(session, actor, AuditAction.GROUP_CREATED, item=_ref(group), at=clock.now())
    return group


def get_group(session: Session, group_id: str) -> Group:
    """Unchecked lookup (any signed-in user may name a group in a grant). Raises NotFound."""
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("group", group_id)
    return group


def list_groups(session: Session) -> list[Group]:
    return list(session.scalars(select(Group).order_by(Group.name_key)))


def _local(group: Group) -> Group:
    """Groups from the force's directory are changed there (SCIM), never here: read-only."""
    if group.source == "directory":
        raise NotAllowed("This group comes from the force's directory; change its members there.")
    return group


def add_member(session: Session, actor: Actor, *, group_id: str, user: User, clock: Clock) -> None:
    """Add a user to a group (idempotent). Raises NotAllowed for a directory group."""
    _require_admin(actor)
    group = _local(get_group(session, group_id))
    if session.get(GroupMember, (group.id, user.id)) is not None:
        return
    session.add(GroupMember(group_id=group.id, user_id=user.id, added_at=clock.now()))
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.GROUP_MEMBER_ADDED,
        item=_ref(group),
        details={"user_id": user.id},
        at=clock.now(),
    )


def remove_member(session: Session, actor: Actor, *, group_id: str, user_id: str, clock: Clock) -> None:
    """Remove a user from a group; their rights through it end with this transaction."""
    _require_admin(actor)
    group = _local(get_group(session, group_id))
    session.execute(
        delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == user_id)
    )
    events.record(
        session,
        actor,
        AuditAction.GROUP_MEMBER_REMOVED,
        item=_ref(group),
        details={"user_id": user_id},
        at=clock.now(),
    )


def members_of(session: Session, group_id: str) -> list[User]:
    query = (
        select(User).join(GroupMember, GroupMember.user_id == User.id).where(GroupMember.group_id == group_id)
    )
    return list(session.scalars(query.order_by(User.email_key)))


# Built once: it runs at every request of a signed-in user (issue 14).
_GROUPS_OF = select(GroupMember.group_id).where(GroupMember.user_id == bindparam("user"))


def group_ids_of(session: Session, user_id: str) -> frozenset[str]:
    """The groups a user belongs to: what `Actor.group_ids` holds for `access.policy.can()`."""
    return frozenset(session.scalars(_GROUPS_OF, {"user": user_id}))
