"""Collaborations: grants of a role on a folder or file to a user or a group, inherited below it.

Granting needs SHARE on the item; granting or changing co-owner or owner needs MANAGE.
"""

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action, Role
from strongroom.access.loaders import access_item, ancestry, effective_label
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.audit import events, reasons
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.db.base import new_id
from strongroom.errors import Conflict, GuestMayNotShare, InputError, NotAllowed, NotFound
from strongroom.identity import groups as identity_groups
from strongroom.identity.models import User
from strongroom.sharing.models import Grant

MANAGER_ROLES = frozenset({Role.CO_OWNER, Role.OWNER})


def _ensure_may_grant(session: Session, actor: Actor, item: Item, role: Role) -> None:
    if role in MANAGER_ROLES and not can(actor, Action.MANAGE, ancestry(session, item)):
        raise NotAllowed("Only owners and co-owners may make someone a co-owner or owner.", role=role.value)


def grant_role(
    session: Session,
    actor: Actor,
    *,
    item_id: str,
    role: Role,
    user: User | None = None,
    group_id: str | None = None,
    clock: Clock,
    reason: str | None = None,
    reason_required_for: Collection[str] = (),
) -> Grant:
    """Give `user` or the group `group_id` the role on the item. Raises NotFound, NotAllowed, InputError,
    Conflict (that holder already has a grant here: change it instead)."""
    item = access_item(session, actor, item_id, Action.SHARE)
    reasons.require_reason(
        classification=effective_label(session, item), reason=reason, required_for=reason_required_for
    )
    if (user is None) == (group_id is None):
        raise InputError("Grant to exactly one of a user or a group.")
    _ensure_may_grant(session, actor, item, role)
    if group_id is not None:
        identity_groups.get_group(session, group_id)
    holder = Grant.user_id == user.id if user is not None else Grant.group_id == group_id
    if session.scalar(select(Grant.id).where(Grant.item_id == item.id, holder)) is not None:
        raise Conflict("This user or group already has a role here; change that grant instead.")
    grant = Grant(
        id=new_id("gr"),
        item_id=item.id,
        user_id=user.id if user else None,
        group_id=group_id,
        role=role.value,
        created_at=clock.now(),
        created_by_id=actor.user_id,
    )
    session.add(grant)
    session.flush()
    details = {"grant_id": grant.id, "role": role.value, "user_id": grant.user_id, "group_id": group_id}
    events.record(
        session,
        actor,
        AuditAction.GRANT_CREATED,
        item=ref(item),
        details=details,
        reason=reason,
        at=clock.now(),
    )
    return grant


def access_grant(session: Session, actor: Actor, grant_id: str) -> tuple[Grant, Item]:
    """A grant on an item the actor may share. Raises NotFound."""
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound("grant", grant_id)
    try:
        item = access_item(session, actor, grant.item_id, Action.SHARE)
    except (NotFound, GuestMayNotShare):
        raise NotFound("grant", grant_id) from None  # the same answer as a random id
    return grant, item


def change_role(session: Session, actor: Actor, *, grant_id: str, role: Role, clock: Clock) -> Grant:
    grant, item = access_grant(session, actor, grant_id)
    _ensure_may_grant(session, actor, item, role)
    _ensure_may_grant(session, actor, item, Role(grant.role))
    old, grant.role = grant.role, role.value
    events.record(
        session,
        actor,
        AuditAction.GRANT_CHANGED,
        item=ref(item),
        details={"grant_id": grant.id, "from": old, "to": role.value},
        at=clock.now(),
    )
    return grant


def remove_grant(session: Session, actor: Actor, *, grant_id: str, clock: Clock) -> None:
    grant, item = access_grant(session, actor, grant_id)
    _ensure_may_grant(session, actor, item, Role(grant.role))
    session.delete(grant)
    events.record(
        session,
        actor,
        AuditAction.GRANT_REMOVED,
        item=ref(item),
        details={
            "grant_id": grant.id,
            "role": grant.role,
            "user_id": grant.user_id,
            "group_id": grant.group_id,
        },
        at=clock.now(),
    )


def list_grants(session: Session, actor: Actor, *, item_id: str) -> list[Grant]:
    """The grants directly on an item (not those inherited from above)."""
    item = access_item(session, actor, item_id, Action.SEE)
    return list(session.scalars(select(Grant).where(Grant.item_id == item.id).order_by(Grant.created_at)))


def shared_with(session: Session, actor: Actor) -> list[Item]:
    """Items granted to the actor or their groups directly: what appears under "Shared with me"."""
    holders = [Grant.user_id == actor.user_id]
    if actor.group_ids:
        holders.append(Grant.group_id.in_(actor.group_ids))
    from sqlalchemy import or_

    query = select(Item).join(Grant, Grant.item_id == Item.id).where(or_(*holders), Item.trashed_at.is_(None))
    items = session.scalars(query.order_by(Item.name_key)).unique()
    # A group's grant on a SECRET item gives nothing (access.labels), so it is not listed either.
    return [item for item in items if can(actor, Action.SEE, ancestry(session, item))]
