"""Collaborations: grant a role on a folder or file to a user or a group; change or remove it."""

from fastapi import APIRouter, Response

from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.content.schemas import ItemRead
from strongroom.db.session import transaction
from strongroom.errors import NotFound
from strongroom.identity import users as identity_users
from strongroom.sharing import collaborations, people
from strongroom.sharing.schemas import GrantCreate, GrantRead, GrantUpdate

router = APIRouter(tags=["collaborations"])


@router.post("/items/{item_id}/collaborations", status_code=201, response_model=GrantRead)
def grant_role(
    item_id: str, body: GrantCreate, actor: CurrentActor, runtime: RuntimeDep, reason: Reason = None
) -> GrantRead:
    """Give a user (`user_email`) or a group (`group_id`) a role on the item and everything below it.
    A user is e-mailed a link to the item (when mail is configured)."""
    with transaction(runtime.sessions) as session:
        user = None
        if body.user_email is not None:
            user = identity_users.get_user_by_email(session, body.user_email)
            if user is None:
                raise NotFound("user", body.user_email)
        grant = collaborations.grant_role(
            session,
            actor,
            item_id=item_id,
            role=body.role,
            user=user,
            group_id=body.group_id,
            clock=runtime.clock,
            reason=reason,
            reason_required_for=runtime.settings.audit.reason_required_for,
        )
        people.mail_invitation(
            session, runtime.settings.mail, grant=grant, by=actor, public_url=runtime.settings.public_url
        )
        return GrantRead.of(grant)


@router.get("/items/{item_id}/collaborations", response_model=list[GrantRead])
def list_grants(item_id: str, actor: CurrentActor, runtime: RuntimeDep) -> list[GrantRead]:
    """The grants made directly on this item."""
    with transaction(runtime.sessions) as session:
        return [GrantRead.of(g) for g in collaborations.list_grants(session, actor, item_id=item_id)]


@router.patch("/collaborations/{grant_id}", response_model=GrantRead)
def change_role(grant_id: str, body: GrantUpdate, actor: CurrentActor, runtime: RuntimeDep) -> GrantRead:
    with transaction(runtime.sessions) as session:
        return GrantRead.of(
            collaborations.change_role(session, actor, grant_id=grant_id, role=body.role, clock=runtime.clock)
        )


@router.delete("/collaborations/{grant_id}", status_code=204)
def remove_grant(grant_id: str, actor: CurrentActor, runtime: RuntimeDep) -> Response:
    with transaction(runtime.sessions) as session:
        collaborations.remove_grant(session, actor, grant_id=grant_id, clock=runtime.clock)
    return Response(status_code=204)


@router.get("/shared-with-me", response_model=list[ItemRead])
def shared_with_me(actor: CurrentActor, runtime: RuntimeDep) -> list[ItemRead]:
    """Folders and files others shared with you or your groups."""
    with transaction(runtime.sessions) as session:
        return [ItemRead.of(item) for item in collaborations.shared_with(session, actor)]
