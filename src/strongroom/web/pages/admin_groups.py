"""Admin: groups made here (local) or by the force's directory (SCIM): create one, add and remove
members. A member's rights through a group end with the transaction that removes them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from strongroom.api.deps import RuntimeDep
from strongroom.api.errors import status_of
from strongroom.db.session import transaction
from strongroom.errors import NotFound, StrongroomError
from strongroom.identity import groups, users
from strongroom.identity.models import Group, GroupMember, User
from strongroom.runtime import Runtime
from strongroom.web.pages import HtmlRoute, admin_form, run_form, signed_in_admin
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
MAX_ROWS = 500
NOTICES = {
    "created": "The group is made. Add its members below.",
    "added": "The member is added; they have the group's access at once.",
    "removed": "The member is removed; their access through the group has ended.",
}


def _page(request: Request, runtime: Runtime, *, status_code: int = 200, **extra: Any) -> Response:
    with transaction(runtime.sessions) as session:
        rows = list(session.scalars(select(Group).order_by(Group.name_key).limit(MAX_ROWS)))
        members: dict[str, list[User]] = {g.id: [] for g in rows}
        query = select(GroupMember.group_id, User).join(User, User.id == GroupMember.user_id)
        for group_id, user in session.execute(query.order_by(User.email_key)):
            members.setdefault(group_id, []).append(user)
        context: dict[str, Any] = {
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "error": None,
            **extra,
        }
        return render(
            request,
            "admin/groups.html",
            status_code=status_code,
            nav="admin",
            tab="groups",
            groups=rows,
            members=members,
            **context,
        )


@router.get("/admin/groups")
def groups_page(request: Request, runtime: RuntimeDep) -> Response:
    signed_in_admin(request)
    return _page(request, runtime)


@router.post("/admin/groups")
async def create_group(
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=400)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = admin_form(request, csrf_token)

    def create() -> None:
        with transaction(runtime.sessions) as session:
            groups.create_group(session, actor, name=name, clock=runtime.clock)

    refused = await run_form(
        create,
        lambda exc: _page(request, runtime, status_code=status_of(exc), error=("new-group", exc.message)),
    )
    if isinstance(refused, Response):
        return refused
    return RedirectResponse("/admin/groups?done=created", status_code=303)


@router.post("/admin/groups/{group_id}/members")
async def add_member(
    request: Request,
    group_id: str,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = admin_form(request, csrf_token)

    def add() -> None:
        with transaction(runtime.sessions) as session:
            user = users.get_user_by_email(session, email.strip())
            if user is None:
                raise NotFound("user", email)
            groups.add_member(session, actor, group_id=group_id, user=user, clock=runtime.clock)

    try:
        await run_in_threadpool(add)
    except StrongroomError as exc:
        message = (
            "There is nobody with that e-mail address here."
            if exc.data.get("kind") == "user"
            else exc.message
        )
        return _page(request, runtime, status_code=status_of(exc), error=(f"add-{group_id}", message))
    return RedirectResponse("/admin/groups?done=added", status_code=303)


@router.post("/admin/groups/{group_id}/members/{user_id}/remove")
async def remove_member(
    request: Request,
    group_id: str,
    user_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = admin_form(request, csrf_token)

    def remove() -> None:
        with transaction(runtime.sessions) as session:
            groups.remove_member(session, actor, group_id=group_id, user_id=user_id, clock=runtime.clock)

    await run_in_threadpool(remove)
    return RedirectResponse("/admin/groups?done=removed", status_code=303)
