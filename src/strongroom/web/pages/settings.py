"""Your account: profile, active browser sessions, personal access tokens (for WebDAV and scripts) and
your password. Forms post back here and work without script."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from strongroom.api.deps import RuntimeDep
from strongroom.content import usage
from strongroom.db.session import transaction
from strongroom.errors import InputError, NotFound
from strongroom.identity import accounts, roles, sessions, tokens
from strongroom.identity.models import User
from strongroom.runtime import Runtime
from strongroom.web import charts
from strongroom.web.pages import HtmlRoute, signed_in, staff_form
from strongroom.web.templating import filesize, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

# What the token form offers; "never" is allowed (WebDAV drives), but not the default.
TOKEN_LIFETIMES = {"30": 30, "90": 90, "365": 365, "never": None}
NOTICES = {
    "password": "Your password is changed. Your other browsers were signed out.",
    "revoked": "The token is revoked. Anything using it can no longer sign in.",
    "session": "That browser is signed out.",
}


def _page(request: Request, runtime: Runtime, *, status_code: int = 200, **extra: Any) -> Response:
    user, actor = signed_in(request)
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        web_sessions = sessions.open_sessions(
            session,
            user_id=user.id,
            clock=runtime.clock,
            policy=sessions.SessionPolicy.of(runtime.settings.accounts),
        )
        token_rows = tokens.list_tokens(session, user.id)
        context: dict[str, Any] = {
            "nav": "settings",
            "web_sessions": web_sessions,
            "this_session": getattr(request.state, "web_session_id", None),
            "tokens": token_rows,
            "now": now,
            "dav_url": f"{runtime.settings.public_url}/dav/",
            "lifetimes": TOKEN_LIFETIMES,
            "has_password": user.password_hash is not None,
            "must_change_password": user.must_change_password,
            "role_name": roles.ROLE_NAMES[roles.role_of(user)],
            "errors": {},
            "new_token": None,
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "storage": charts.category_bars(
                list(usage.storage_used(session, actor).items()), fmt=filesize, what="Your files take"
            ),
        }
        context.update(extra)
        return render(request, "staff/settings.html", status_code=status_code, **context)


@router.get("/settings")
def settings_page(request: Request, runtime: RuntimeDep) -> Response:
    return _page(request, runtime)


@router.post("/settings/tokens")
async def create_token(
    request: Request,
    runtime: RuntimeDep,
    *,
    name: Annotated[str, Form(max_length=200)] = "",
    lifetime: Annotated[str, Form(max_length=10)] = "90",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Make a token; the answer is the only time it is shown (the page is not cached)."""
    actor = staff_form(request, csrf_token)
    if not name.strip():
        return _page(request, runtime, status_code=400, errors={"token-name": "Give the token a name."})
    if lifetime not in TOKEN_LIFETIMES:
        return _page(
            request, runtime, status_code=400, errors={"token-lifetime": "Choose how long it lasts."}
        )
    days = TOKEN_LIFETIMES[lifetime]

    def issue() -> str:
        with transaction(runtime.sessions) as session:
            user = session.get(User, actor.user_id) if actor.user_id else None
            if user is None:
                raise NotFound("user", actor.id)
            expires = tokens.ends_after(session, runtime.clock, days)
            _, clear = tokens.issue_token(
                session, actor, user=user, name=name.strip(), expires_at=expires, clock=runtime.clock
            )
            return clear

    try:
        clear = await run_in_threadpool(issue)
    except InputError as exc:
        return _page(request, runtime, status_code=400, errors={"token-name": exc.message})
    response = _page(request, runtime, new_token={"name": name.strip(), "token": clear})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request,
    token_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = staff_form(request, csrf_token)

    def revoke() -> None:
        with transaction(runtime.sessions) as session:
            tokens.revoke_token(session, actor, token_id=token_id, clock=runtime.clock)

    await run_in_threadpool(revoke)
    return RedirectResponse("/settings?done=revoked#tokens", status_code=303)


@router.post("/settings/sessions/{session_id}/revoke")
async def revoke_session(
    request: Request,
    session_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Sign out one of your other browsers (a lost laptop, a shared computer) at once."""
    actor = staff_form(request, csrf_token)

    def revoke() -> None:
        with transaction(runtime.sessions) as session:
            sessions.revoke_session(session, actor, session_id=session_id, clock=runtime.clock)

    await run_in_threadpool(revoke)
    return RedirectResponse("/settings?done=session", status_code=303)


@router.post("/settings/password")
async def change_password(
    request: Request,
    runtime: RuntimeDep,
    *,
    old_password: Annotated[str, Form(max_length=1024)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Change your own password: the current one is needed; your other browsers are signed out."""
    actor = staff_form(request, csrf_token)
    if password != password_again:
        return _page(
            request, runtime, status_code=400, errors={"new-password": "The two new passwords differ."}
        )
    keep = getattr(request.state, "web_session_id", None)

    def change() -> None:
        with transaction(runtime.sessions) as session:
            accounts.change_own_password(
                session,
                actor,
                old_password=old_password,
                new_password=password,
                keep_session_id=keep,
                clock=runtime.clock,
            )

    try:
        await run_in_threadpool(change)
    except InputError as exc:
        field = "old-password" if exc.data.get("field") == "old_password" else "new-password"
        return _page(request, runtime, status_code=400, errors={field: exc.message})
    return RedirectResponse("/settings?done=password#password", status_code=303)
