"""Admin pages: users, groups and audit search. To anyone who is not an admin they do not exist (404)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from strongroom.access.actions import OrgAction
from strongroom.access.policy import can
from strongroom.api.deps import RuntimeDep
from strongroom.api.errors import status_of
from strongroom.audit import activity
from strongroom.content import departures
from strongroom.content import folders as content_folders
from strongroom.db.session import on_commit, transaction
from strongroom.errors import NotFound, StrongroomError
from strongroom.identity import accounts, roles, sessions, users
from strongroom.identity.models import User
from strongroom.runtime import Runtime
from strongroom.web import charts
from strongroom.web.pages import HtmlRoute, admin_form, run_form, signed_in, signed_in_admin
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
MAX_ROWS = 500
ACTIVITY_DAYS = 30


def _refused(request: Request, runtime: Runtime) -> Callable[[StrongroomError], Response]:
    """The users page again, saying why an action on an account was refused."""
    return lambda exc: _users_page(request, runtime, status_code=status_of(exc), action_error=exc.message)


def _role_names() -> dict[str, str]:
    return {role.value: name for role, name in roles.ROLE_NAMES.items()}


@router.get("/admin")
def admin_home(request: Request) -> Response:
    signed_in_admin(request)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, runtime: RuntimeDep) -> Response:
    signed_in_admin(request)
    return _users_page(request, runtime)


@router.post("/admin/users")
async def create_user(
    request: Request,
    runtime: RuntimeDep,
    *,
    email: Annotated[str, Form(max_length=320)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    is_admin: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create a local account with its own root folder."""
    actor = admin_form(request, csrf_token)

    def create() -> None:
        with transaction(runtime.sessions) as session:
            user = users.create_user(
                session,
                actor,
                email=email,
                display_name=display_name or None,
                password=password or None,
                is_admin=is_admin,
                clock=runtime.clock,
            )
            content_folders.create_root_folder(session, user, clock=runtime.clock)

    try:
        await run_in_threadpool(create)
    except StrongroomError as exc:
        with transaction(runtime.sessions) as session:
            rows = list(session.scalars(select(User).order_by(User.email_key).limit(MAX_ROWS)))
            return render(
                request,
                "admin/users.html",
                status_code=400,
                nav="admin",
                tab="users",
                users=rows,
                error=exc.message,
                role_names=_role_names(),
                role_of=roles.role_of,
            )
    return RedirectResponse("/admin/users", status_code=303)


def _users_page(
    request: Request, runtime: RuntimeDep, *, status_code: int = 200, **extra: object
) -> Response:
    with transaction(runtime.sessions) as session:
        rows = list(session.scalars(select(User).order_by(User.email_key).limit(MAX_ROWS)))
        context: dict[str, object] = {
            "error": None,
            "action_error": None,
            "reset": None,
            "notice": None,
            "role_names": _role_names(),
            "role_of": roles.role_of,
            **extra,
        }
        return render(
            request,
            "admin/users.html",
            status_code=status_code,
            nav="admin",
            tab="users",
            users=rows,
            **context,
        )


@router.post("/admin/users/{user_id}/disable")
@router.post("/admin/users/{user_id}/enable")
async def disable_user(
    request: Request,
    user_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Disable an account (its browsers and tokens stop at their next request) or enable it again."""
    actor = admin_form(request, csrf_token)
    disable = request.url.path.endswith("/disable")

    def change() -> str:
        with transaction(runtime.sessions) as session:
            user = accounts.set_disabled(
                session, actor, user_id=user_id, disabled=disable, clock=runtime.clock
            )
            if disable:  # their locks are released and unfinished uploads discarded at once
                for key in departures.end_work_of(session, actor, user_id=user_id, clock=runtime.clock):
                    on_commit(session, partial(runtime.blobs.discard_resumable, key))
            return user.email

    email = await run_form(change, _refused(request, runtime))
    if isinstance(email, Response):
        return email
    done = "disabled. Their browsers and tokens no longer work" if disable else "enabled again"
    return _users_page(request, runtime, notice=f"{email} is {done}.")


@router.post("/admin/users/{user_id}/reset-password")
async def reset_password(
    request: Request,
    user_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Give the account a new random password, shown once on this answer (never cached)."""
    actor = admin_form(request, csrf_token)

    def reset() -> tuple[str, str]:
        with transaction(runtime.sessions) as session:
            user, clear = accounts.reset_password(session, actor, user_id=user_id, clock=runtime.clock)
            return user.email, clear

    email, clear = await run_in_threadpool(reset)
    response = _users_page(request, runtime, reset={"email": email, "password": clear})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/users/{user_id}/role")
async def change_role(
    request: Request,
    user_id: str,
    runtime: RuntimeDep,
    role: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Make an account an organisation admin, auditor, staff or external guest."""
    actor = admin_form(request, csrf_token)

    def change() -> tuple[str, str]:
        with transaction(runtime.sessions) as session:
            user = roles.set_role(session, actor, user_id=user_id, role=role, clock=runtime.clock)
            return user.email, roles.ROLE_NAMES[roles.role_of(user)]

    done = await run_form(change, _refused(request, runtime))
    if isinstance(done, Response):
        return done
    email, name = done
    return _users_page(request, runtime, notice=f"{email} is now: {name}.")


@router.post("/admin/users/{user_id}/sign-out")
async def force_sign_out(
    request: Request,
    user_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Sign an account out of every browser at once (a stolen laptop, a suspended officer)."""
    actor = admin_form(request, csrf_token)

    def end() -> int:
        with transaction(runtime.sessions) as session:
            return sessions.force_sign_out(session, actor, user_id=user_id, clock=runtime.clock)

    done = await run_form(end, _refused(request, runtime))
    if isinstance(done, Response):
        return done
    ended = done
    return _users_page(request, runtime, notice=f"{ended} browser session(s) ended.")


@router.get("/admin/audit")
def audit_page(request: Request, runtime: RuntimeDep) -> Response:
    """Audit search, under a picture of the trail's activity over the last 30 days (counts only);
    for administrators and auditors."""
    _, actor = signed_in(request)
    if not can(actor, OrgAction.READ_AUDIT):
        raise NotFound("page", None)
    today = runtime.clock.now().astimezone(UTC).date()
    first = today - timedelta(days=ACTIVITY_DAYS - 1)
    since = datetime.combine(first, time(0, 0), tzinfo=UTC)
    with transaction(runtime.sessions) as session:
        counts = activity.events_per_day(session, since=since)
    picture = charts.day_bars(counts, first=first, last=today, what="Events recorded")
    return render(request, "admin/audit.html", nav="admin", tab="audit", activity=picture)
