"""Admin pages: users, groups and audit search. To anyone who is not an admin they do not exist (404)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from strongroom.actors import Actor
from strongroom.api.deps import RuntimeDep
from strongroom.api.errors import status_of
from strongroom.audit import activity
from strongroom.content import folders as content_folders
from strongroom.db.session import transaction
from strongroom.errors import NotFound, StrongroomError
from strongroom.identity import accounts, users
from strongroom.identity.models import User
from strongroom.web import charts, csrf
from strongroom.web.pages import HtmlRoute, signed_in
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
MAX_ROWS = 500
ACTIVITY_DAYS = 30


def _admin(request: Request) -> Actor:
    _, actor = signed_in(request)
    if not actor.is_admin:
        raise NotFound("page", None)
    return actor


@router.get("/admin")
def admin_home(request: Request) -> Response:
    _admin(request)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, runtime: RuntimeDep) -> Response:
    _admin(request)
    with transaction(runtime.sessions) as session:
        rows = list(session.scalars(select(User).order_by(User.email_key).limit(MAX_ROWS)))
        return render(request, "admin/users.html", nav="admin", tab="users", users=rows, error=None)


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
    actor = _admin(request)
    csrf.require_form_token(request, csrf_token)

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
    actor = _admin(request)
    csrf.require_form_token(request, csrf_token)
    disable = request.url.path.endswith("/disable")

    def change() -> str:
        with transaction(runtime.sessions) as session:
            user = accounts.set_disabled(
                session, actor, user_id=user_id, disabled=disable, clock=runtime.clock
            )
            return user.email

    try:
        email = await run_in_threadpool(change)
    except StrongroomError as exc:
        return _users_page(request, runtime, status_code=status_of(exc), action_error=exc.message)
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
    actor = _admin(request)
    csrf.require_form_token(request, csrf_token)

    def reset() -> tuple[str, str]:
        with transaction(runtime.sessions) as session:
            user, clear = accounts.reset_password(session, actor, user_id=user_id, clock=runtime.clock)
            return user.email, clear

    email, clear = await run_in_threadpool(reset)
    response = _users_page(request, runtime, reset={"email": email, "password": clear})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/audit")
def audit_page(request: Request, runtime: RuntimeDep) -> Response:
    """Audit search, under a picture of the trail's activity over the last 30 days (counts only)."""
    _admin(request)
    today = runtime.clock.now().astimezone(UTC).date()
    first = today - timedelta(days=ACTIVITY_DAYS - 1)
    since = datetime.combine(first, time(0, 0), tzinfo=UTC)
    with transaction(runtime.sessions) as session:
        counts = activity.events_per_day(session, since=since)
    picture = charts.day_bars(counts, first=first, last=today, what="Events recorded")
    return render(request, "admin/audit.html", nav="admin", tab="audit", activity=picture)
