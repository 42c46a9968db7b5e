"""can(actor, action, item): the one permission decision. Routes and services never decide on their own.

Where rights come from, by kind of actor:
- a user: owning an item on the path, or a grant (collaboration) on an item on the path to the user or to
  one of their groups; grants are inherited by everything below the item they are on; a group's grant
  does not reach a SECRET item (`labels.group_grants_reach`);
- a link visitor (ActorKind.LINK, id = the link's id): the link's item and everything below it, to see and
  preview, and to download unless the link is preview-only; a revoked link gives nothing, and a link never
  reaches an item whose effective label is above what the link may serve (`labels.link_may_serve`),
  however the item came to be there. Expiry, password, recipient proof and download limits are
  checked by `sharing.link_visits` and `sharing.link_proofs` before such an actor exists;
- a third party using an upload request (ActorKind.UPLOAD_REQUEST, id = the request's id): to add files
  into the request's folder and below, never to read;
- the system (CLI operator, worker): everything.

An account's role in the force (`AccountRole`) bounds this: an external guest owns nothing and has only
what is granted to them (or their groups), and never shares it on (`ROLE_NEVER`: no shared links, no
upload requests, no grants, whatever role a grant gives them); organisation-wide actions (`OrgAction`:
reading the audit trail, administering accounts, seeing the directory) come from the role alone, with an
empty chain.
"""

from collections.abc import Sequence

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, object_session

from strongroom.access import labels
from strongroom.access.actions import ROLE_ACTIONS, ROLE_ORG_ACTIONS, AccountRole, Action, OrgAction, Role
from strongroom.actors import Actor, ActorKind
from strongroom.content.models import Item
from strongroom.sharing.models import Grant, SharedLink, UploadRequest

LINK_ACTIONS = frozenset({Action.SEE, Action.PREVIEW, Action.DOWNLOAD})
PREVIEW_ONLY_LINK_ACTIONS = frozenset({Action.SEE, Action.PREVIEW})
UPLOAD_REQUEST_ACTIONS = frozenset({Action.SEE, Action.UPLOAD})
# What an account's role rules out on every item, whatever its grants say. A guest who could share
# would hand the force's material on to people the force never vetted.
ROLE_NEVER: dict[AccountRole, frozenset[Action]] = {AccountRole.GUEST: frozenset({Action.SHARE})}


def _session_of(chain: Sequence[Item]) -> Session | None:
    if not chain:
        return None
    return object_session(chain[-1])


_ON_PATH = Grant.item_id.in_(bindparam("items", expanding=True))
# Built once (every permission check sends one of these): building the query cost more Python than
# running it (issue 14). The ids travel as expanding parameters.
_TO_USER = select(Grant.role).where(_ON_PATH, Grant.user_id == bindparam("user"))
_TO_USER_OR_GROUPS = select(Grant.role).where(
    _ON_PATH, or_(Grant.user_id == bindparam("user"), Grant.group_id.in_(bindparam("groups", expanding=True)))
)


def granted_roles(
    session: Session, actor: Actor, chain: Sequence[Item], *, through_groups: bool = True
) -> set[Role]:
    """Roles from grants on any item of the path, to the user or (`through_groups`) one of their groups."""
    if actor.id is None:
        return set()  # grants are to users and groups: an actor without an id holds none
    items = [node.id for node in chain]
    if actor.group_ids and through_groups:
        found = session.scalars(
            _TO_USER_OR_GROUPS, {"items": items, "user": actor.id, "groups": list(actor.group_ids)}
        )
    else:
        found = session.scalars(_TO_USER, {"items": items, "user": actor.id})
    return {Role(role) for role in found}


def roles_on(actor: Actor, chain: Sequence[Item]) -> set[Role]:
    """The roles a user holds on the last item of `chain` (root first, then the item)."""
    roles: set[Role] = set()
    if actor.kind is not ActorKind.USER:
        return roles
    # A guest never owns anything, even an item whose owner field names them (an account turned guest);
    # an unknown role counts as guest here too (`account_role`), as it does in search's visibility SQL.
    if account_role(actor) is not AccountRole.GUEST and any(node.owner_id == actor.id for node in chain):
        roles.add(Role.OWNER)
    session = _session_of(chain)
    if session is not None:
        through_groups = labels.group_grants_reach(labels.effective_label(chain))
        roles |= granted_roles(session, actor, chain, through_groups=through_groups)
    return roles


def _link_reaches(link: SharedLink, chain: Sequence[Item]) -> bool:
    """The item lies under the link, and its effective label is within what the link may serve."""
    if link.item_id not in {node.id for node in chain}:
        return False
    return labels.link_may_serve(
        labels.effective_label(chain),
        access_level=link.access_level,
        require_recipient_proof=link.require_recipient_proof,
    )


def link_actions(actor: Actor, chain: Sequence[Item]) -> frozenset[Action]:
    """What a link visitor may do to the last item of `chain`."""
    session = _session_of(chain)
    if session is None:
        return frozenset()
    link = session.get(SharedLink, actor.id)
    if link is None:
        return frozenset()
    if link.revoked_at is not None:
        return frozenset()
    if not _link_reaches(link, chain):
        return frozenset()
    if link.preview_only:
        return PREVIEW_ONLY_LINK_ACTIONS
    return LINK_ACTIONS


def upload_request_actions(actor: Actor, chain: Sequence[Item]) -> frozenset[Action]:
    """What a third party using an upload request may do to the last item of `chain`."""
    session = _session_of(chain)
    if session is None:
        return frozenset()
    request = session.get(UploadRequest, actor.id)
    if request is None:
        return frozenset()
    if request.revoked_at is not None:
        return frozenset()
    if request.folder_id not in {node.id for node in chain}:
        return frozenset()
    return UPLOAD_REQUEST_ACTIONS


def account_role(actor: Actor) -> AccountRole:
    """The actor's role in the force; an unknown value counts as the weakest."""
    if actor.is_admin:
        return AccountRole.ADMIN
    try:
        return AccountRole(actor.role)
    except ValueError:
        return AccountRole.GUEST


def role_rules_out(actor: Actor, action: Action | OrgAction) -> bool:
    """Whether the actor's account role forbids `action` on any item at all. Such a refusal depends on
    no item, so the doors may say so (403) without revealing whether an item exists."""
    if actor.kind is not ActorKind.USER or isinstance(action, OrgAction):
        return False
    return action in ROLE_NEVER.get(account_role(actor), frozenset())


def can(actor: Actor, action: Action | OrgAction, chain: Sequence[Item] = ()) -> bool:
    """May `actor` do `action` to the item at the end of `chain` (root first), or, for an
    OrgAction, to the organisation (no chain)?"""
    if actor.kind is ActorKind.SYSTEM:
        return True
    if isinstance(action, OrgAction):
        return actor.kind is ActorKind.USER and action in ROLE_ORG_ACTIONS[account_role(actor)]
    if actor.kind is ActorKind.LINK:
        return action in link_actions(actor, chain)
    if actor.kind is ActorKind.UPLOAD_REQUEST:
        return action in upload_request_actions(actor, chain)
    if role_rules_out(actor, action):
        return False
    return any(action in ROLE_ACTIONS[role] for role in roles_on(actor, chain))
