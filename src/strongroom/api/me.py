"""The signed-in user and their personal access tokens."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.errors import NotFound
from strongroom.identity import tokens
from strongroom.identity.models import User

router = APIRouter(tags=["me"])


class MeRead(BaseModel):
    id: str
    email: str
    display_name: str
    is_admin: bool
    root_folder_id: str | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    expires_at: datetime | None = None


class TokenRead(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="Shown once; store it now.")


@router.get("/me", response_model=MeRead)
def me(actor: CurrentActor, runtime: RuntimeDep) -> MeRead:
    """Who you are signed in as."""
    with transaction(runtime.sessions) as session:
        user = session.get(User, actor.user_id) if actor.user_id else None
        if user is None:
            raise NotFound("user", actor.id)
        return MeRead(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            is_admin=user.is_admin,
            root_folder_id=user.root_folder_id,
        )


@router.get("/me/tokens", response_model=list[TokenRead])
def list_tokens(actor: CurrentActor, runtime: RuntimeDep) -> list[TokenRead]:
    """Your personal access tokens (never the tokens themselves)."""
    with transaction(runtime.sessions) as session:
        return [
            TokenRead.model_validate(t, from_attributes=True)
            for t in tokens.list_tokens(session, actor.user_id or "")
        ]


@router.post("/me/tokens", status_code=201, response_model=TokenCreated)
def create_token(body: TokenCreate, actor: CurrentActor, runtime: RuntimeDep) -> TokenCreated:
    """Issue a personal access token for scripts and WebDAV; the response is the only time it is shown."""
    with transaction(runtime.sessions) as session:
        user = session.get(User, actor.user_id) if actor.user_id else None
        if user is None:
            raise NotFound("user", actor.id)
        token, clear = tokens.issue_token(
            session, actor, user=user, name=body.name, expires_at=body.expires_at, clock=runtime.clock
        )
        return TokenCreated(**TokenRead.model_validate(token, from_attributes=True).model_dump(), token=clear)


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, actor: CurrentActor, runtime: RuntimeDep) -> None:
    """Revoke a token at once."""
    with transaction(runtime.sessions) as session:
        tokens.revoke_token(session, actor, token_id=token_id, clock=runtime.clock)
