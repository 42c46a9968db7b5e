"""Users for tests, made through the same services the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.actors import Actor
from strongroom.content import folders as content_folders
from strongroom.db.session import transaction
from strongroom.identity import tokens, users
from strongroom.runtime import Runtime

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
