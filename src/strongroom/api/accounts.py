"""Accounts over REST: your own browser sessions; for administrators, roles, forced sign-out, disabling
(its browsers, tokens and drives stop at their next request, its locks are released and its unfinished
uploads discarded), enabling again, and password resets (the new one is answered once; the user must
choose their own at their next sign-in). To anyone else the administrators' calls do not exist (404)."""

from datetime import datetime
from functools import partial

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from strongroom.access.actions import AccountRole
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.content import departures
from strongroom.db.session import on_commit, transaction
from strongroom.identity import accounts, mfa, roles, sessions
from strongroom.identity.models import User

router = APIRouter(tags=["accounts"])


class SessionRead(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: AccountRole


class RoleRead(BaseModel):
    id: str
    email: str
    role: AccountRole


class SignedOut(BaseModel):
    sessions_ended: int


@router.get("/me/sessions", response_model=list[SessionRead])
def list_sessions(actor: CurrentActor, runtime: RuntimeDep) -> list[SessionRead]:
    """Your signed-in browsers, most recently active first."""
    policy = sessions.SessionPolicy.of(runtime.settings.accounts)
    with transaction(runtime.sessions) as session:
        rows = sessions.open_sessions(
            session, user_id=actor.user_id or "", clock=runtime.clock, policy=policy
        )
        return [SessionRead.model_validate(row, from_attributes=True) for row in rows]


@router.delete("/me/sessions/{session_id}", status_code=204)
def revoke_session(session_id: str, actor: CurrentActor, runtime: RuntimeDep) -> None:
    """Sign one of your browsers out at once."""
    with transaction(runtime.sessions) as session:
        sessions.revoke_session(session, actor, session_id=session_id, clock=runtime.clock)


@router.put("/users/{user_id}/role", response_model=RoleRead)
def set_role(user_id: str, body: RoleChange, actor: CurrentActor, runtime: RuntimeDep) -> RoleRead:
    """Make an account an organisation admin, auditor, user or external guest (administrators only)."""
    with transaction(runtime.sessions) as session:
        user = roles.set_role(session, actor, user_id=user_id, role=body.role.value, clock=runtime.clock)
        return RoleRead(id=user.id, email=user.email, role=roles.role_of(user))


@router.post("/users/{user_id}/sign-out", response_model=SignedOut)
def force_sign_out(user_id: str, actor: CurrentActor, runtime: RuntimeDep) -> SignedOut:
    """End every browser session of an account at once (administrators only); tokens stay."""
    with transaction(runtime.sessions) as session:
        return SignedOut(
            sessions_ended=sessions.force_sign_out(session, actor, user_id=user_id, clock=runtime.clock)
        )


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
    """Disable an account: its browsers, tokens and drives stop at their next request, its locks are
    released and its unfinished uploads discarded."""
    with transaction(runtime.sessions) as session:
        user = accounts.set_disabled(session, actor, user_id=user_id, disabled=True, clock=runtime.clock)
        for key in departures.end_work_of(session, actor, user_id=user_id, clock=runtime.clock):
            on_commit(session, partial(runtime.blobs.discard_resumable, key))
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


class SecondFactorsRemoved(BaseModel):
    removed: int


@router.delete("/users/{user_id}/mfa", response_model=SecondFactorsRemoved)
def remove_second_factors(user_id: str, actor: CurrentActor, runtime: RuntimeDep) -> SecondFactorsRemoved:
    """Remove every second factor of an account (administrators only), for someone who lost both their
    authenticator and their recovery codes; they set one up again after signing in."""
    with transaction(runtime.sessions) as session:
        return SecondFactorsRemoved(
            removed=mfa.remove_all(session, actor, user_id=user_id, clock=runtime.clock)
        )
