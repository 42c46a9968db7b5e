"""Groups (admin): create, list, add and remove members. SCIM fills the same groups later."""

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from strongroom.access.actions import OrgAction
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.errors import NotAllowed, NotFound
from strongroom.identity import groups as identity_groups
from strongroom.identity import users as identity_users

router = APIRouter(tags=["groups"])


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)


class GroupRead(BaseModel):
    id: str
    name: str
    members: list[str] = Field(default_factory=list, description="Members' e-mail addresses (admins only).")


@router.post("/groups", status_code=201, response_model=GroupRead)
def create_group(body: GroupCreate, actor: CurrentActor, runtime: RuntimeDep) -> GroupRead:
    """Create a local group (admins only)."""
    with transaction(runtime.sessions) as session:
        group = identity_groups.create_group(session, actor, name=body.name, clock=runtime.clock)
        return GroupRead(id=group.id, name=group.name)


@router.get("/groups", response_model=list[GroupRead])
def list_groups(actor: CurrentActor, runtime: RuntimeDep) -> list[GroupRead]:
    """Every group, so that items can be shared with one; members are listed for admins only. External
    guests see no directory (an empty list)."""
    if not can(actor, OrgAction.SEE_DIRECTORY):
        return []
    with transaction(runtime.sessions) as session:
        return [
            GroupRead(
                id=g.id,
                name=g.name,
                members=[u.email for u in identity_groups.members_of(session, g.id)]
                if actor.is_admin
                else [],
            )
            for g in identity_groups.list_groups(session)
        ]


@router.post("/groups/{group_id}/members", status_code=204)
def add_member(group_id: str, body: MemberAdd, actor: CurrentActor, runtime: RuntimeDep) -> None:
    """Add a user (by e-mail) to a group (admins only)."""
    with transaction(runtime.sessions) as session:
        user = identity_users.get_user_by_email(session, body.email)
        if user is None:
            raise NotFound("user", body.email)
        _local_only(session, actor, group_id)
        identity_groups.add_member(session, actor, group_id=group_id, user=user, clock=runtime.clock)


@router.delete("/groups/{group_id}/members/{user_id}", status_code=204)
def remove_member(group_id: str, user_id: str, actor: CurrentActor, runtime: RuntimeDep) -> None:
    """Remove a user from a group (admins only); their rights through it end at once."""
    with transaction(runtime.sessions) as session:
        _local_only(session, actor, group_id)
        identity_groups.remove_member(session, actor, group_id=group_id, user_id=user_id, clock=runtime.clock)


def _local_only(session: Session, actor: Actor, group_id: str) -> None:
    """Directory groups (from SCIM or single sign-on) follow the force's directory; changed here, they
    would silently change back at the member's next sign-in."""
    if actor.is_admin and identity_groups.get_group(session, group_id).external_id is not None:
        raise NotAllowed("This group comes from your force's directory: change its members there.")
