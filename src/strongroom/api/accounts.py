"""Accounts, for administrators: disable an account (its browsers and tokens stop at their next
request), enable it again, and reset its password (the new one is answered once; the user must choose
their own at their next sign-in). To anyone else these do not exist (404)."""

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.identity import accounts
from strongroom.identity.models import User

router = APIRouter(tags=["accounts"])


class AccountRead(BaseModel):
    id: str
    email: str
    display_name: str
    is_admin: bool
    disabled_at: datetime | None
    must_change_password: bool

    @classmethod
    def of(cls, user: User) -> "AccountRead":
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            is_admin=user.is_admin,
            disabled_at=user.disabled_at,
            must_change_password=user.must_change_password,
        )


class PasswordReset(BaseModel):
    account: AccountRead
    password: str


@router.post("/users/{user_id}/disable", response_model=AccountRead)
def disable_user(user_id: str, actor: CurrentActor, runtime: RuntimeDep) -> AccountRead:
    """Disable an account: its browser sessions end now, its tokens stop at their next request."""
    with transaction(runtime.sessions) as session:
        user = accounts.set_disabled(session, actor, user_id=user_id, disabled=True, clock=runtime.clock)
        return AccountRead.of(user)


@router.post("/users/{user_id}/enable", response_model=AccountRead)
def enable_user(user_id: str, actor: CurrentActor, runtime: RuntimeDep) -> AccountRead:
    """Enable a disabled account again."""
    with transaction(runtime.sessions) as session:
        user = accounts.set_disabled(session, actor, user_id=user_id, disabled=False, clock=runtime.clock)
        return AccountRead.of(user)


@router.post("/users/{user_id}/reset-password", response_model=PasswordReset)
def reset_password(
    user_id: str, actor: CurrentActor, runtime: RuntimeDep, response: Response
) -> PasswordReset:
    """A new random password, in this answer only (never cached). The user's sessions end, and the web
    asks them to choose their own at their next sign-in."""
    with transaction(runtime.sessions) as session:
        user, clear = accounts.reset_password(session, actor, user_id=user_id, clock=runtime.clock)
        response.headers["Cache-Control"] = "no-store"
        return PasswordReset(account=AccountRead.of(user), password=clear)
