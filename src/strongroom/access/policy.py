"""can(actor, action, item): the one permission decision. Routes and services never decide on their own."""

from collections.abc import Sequence

from strongroom.access.actions import ROLE_ACTIONS, Action, Role
from strongroom.content.models import Item
from strongroom.identity.actors import Actor, ActorKind


def roles_on(actor: Actor, chain: Sequence[Item]) -> set[Role]:
    """The roles an actor holds on the last item of `chain` (the item's ancestors, root first, then the
    item): ownership of any item on the path. Grants are inherited the same way."""
    roles: set[Role] = set()
    if actor.kind is not ActorKind.USER:
        return roles
    if any(node.owner_id == actor.id for node in chain):
        roles.add(Role.OWNER)
    return roles


def can(actor: Actor, action: Action, chain: Sequence[Item]) -> bool:
    """May `actor` do `action` to the item at the end of `chain` (root first)?"""
    if actor.kind is ActorKind.SYSTEM:
        return True
    return any(action in ROLE_ACTIONS[role] for role in roles_on(actor, chain))
