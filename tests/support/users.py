"""Users for tests, made through the same services the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.access.actions import Role
from strongroom.actors import Actor
from strongroom.content import folders as content_folders
from strongroom.db.session import transaction
from strongroom.identity import groups, tokens, users
from strongroom.identity.models import User
from strongroom.runtime import Runtime
from strongroom.sharing import collaborations

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class UserFixture:
    id: str
    email: str
    token: str
    root_id: str
    actor: Actor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_user(runtime: Runtime, email: str, *, is_admin: bool = False) -> UserFixture:
    system = Actor.system(label="tests")
    with transaction(runtime.sessions) as session:
        user = users.create_user(
            session, system, email=email, password=PASSWORD, is_admin=is_admin, clock=runtime.clock
        )
        root = content_folders.create_root_folder(session, user, clock=runtime.clock)
        _, clear = tokens.issue_token(
            session, system, user=user, name="tests", expires_at=None, clock=runtime.clock
        )
        actor = users.actor_for(user)
        return UserFixture(id=user.id, email=user.email, token=clear, root_id=root.id, actor=actor)


def grant_viewer_through_a_group(
    runtime: Runtime, *, admin: UserFixture, owner: UserFixture, member: UserFixture, item_id: str
) -> None:
    """The admin makes the group "MIT" with `member` in it; `owner` makes the group a viewer of the item."""
    with transaction(runtime.sessions) as session:
        team = groups.create_group(session, admin.actor, name="MIT", clock=runtime.clock)
        groups.add_member(
            session, admin.actor, group_id=team.id, user=session.get_one(User, member.id), clock=runtime.clock
        )
        collaborations.grant_role(
            session, owner.actor, item_id=item_id, role=Role.VIEWER, group_id=team.id, clock=runtime.clock
        )
