"""People with access: the panel on every folder and file page (who, which role, from where; give a
colleague or a group a role, change it, take it away after a confirmation), and "Shared with me".
Plain forms, so it works without script; every change goes through `sharing.collaborations`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from strongroom import errors
from strongroom.access.actions import Action, OrgAction, Role
from strongroom.access.loaders import access_item, ancestry
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.api.deps import RuntimeDep
from strongroom.content.models import Item
from strongroom.db.session import transaction
from strongroom.identity import groups as identity_groups
from strongroom.identity import users as identity_users
from strongroom.runtime import Runtime
from strongroom.sharing import collaborations, people
from strongroom.web import csrf
from strongroom.web.pages import HtmlRoute, signed_in
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

# What the panel says after a change (?people=...), and after a refusal (?people_error=<code>).
NOTICES = {
    "added": "They have access now. If they have an e-mail address here, they were sent a link.",
    "changed": "The role is changed.",
    "removed": "Their access through this grant has ended.",
}
PROBLEMS = {
    errors.NotFound.code: "There is nobody with that e-mail address here, or no such group.",
    errors.Conflict.code: "They already have a role here; change it in the list instead.",
    errors.NotAllowed.code: "Only owners and co-owners may make someone a co-owner or owner.",
    errors.GuestMayNotShare.code: "External guests cannot invite anyone or share what is shared with them.",
    errors.InputError.code: "Give an e-mail address or choose a group, not both.",
    errors.ReasonRequired.code: "This item's classification asks for a reason; share it through the API.",
}


def page_of(item: Item) -> str:
    return f"/files/{item.id}" if item.is_folder else f"/items/{item.id}"


def people_context(session: Session, actor: Actor, item: Item, request: Request) -> dict[str, Any]:
    """What the people panel on a folder or file page needs."""
    may_share = can(actor, Action.SHARE, ancestry(session, item))
    return {
        "people": people.people_with_access(session, actor, item_id=item.id),
        "may_share": may_share,
        "role_labels": {role.value: label for role, label in people.ROLE_LABELS.items()},
        "short_role": people.role_label,
        # Only those who may see the directory are offered its groups (never a guest, even one who shares).
        "groups": identity_groups.list_groups(session)
        if may_share and can(actor, OrgAction.SEE_DIRECTORY)
        else [],
        "people_notice": NOTICES.get(request.query_params.get("people", "")),
        "people_problem": PROBLEMS.get(request.query_params.get("people_error", "")),
    }


def _back(page: str, **query: str) -> RedirectResponse:
    pairs = "&".join(f"{key}={value}" for key, value in query.items())
    return RedirectResponse(f"{page}?{pairs}#people", status_code=303)


def _refused(runtime: Runtime, actor: Actor, item_id: str, exc: errors.StrongroomError) -> Response:
    if isinstance(exc, errors.NotFound) and exc.data.get("kind") not in {"user", "group"}:
        raise exc  # the item itself is not there for this actor: the 404 page
    with transaction(runtime.sessions) as session:
        item = access_item(session, actor, item_id, Action.SEE)
        code = exc.code if exc.code in PROBLEMS else errors.InputError.code
        return _back(page_of(item), people_error=code)


@router.post("/items/{item_id}/people")
async def add_person(
    request: Request,
    item_id: str,
    runtime: RuntimeDep,
    *,
    email: Annotated[str, Form(max_length=320)] = "",
    group_id: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[Role, Form()] = Role.VIEWER,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Give a colleague (by e-mail) or a group a role on this item; the colleague is e-mailed a link."""
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)

    def add() -> str:
        with transaction(runtime.sessions) as session:
            user = None
            if email.strip():
                user = identity_users.get_user_by_email(session, email.strip())
                if user is None:
                    raise errors.NotFound("user", email.strip())
            grant = collaborations.grant_role(
                session,
                actor,
                item_id=item_id,
                role=role,
                user=user,
                group_id=group_id or None,
                clock=runtime.clock,
                reason_required_for=runtime.settings.audit.reason_required_for,
            )
            people.mail_invitation(
                session, runtime.settings.mail, grant=grant, by=actor, public_url=runtime.settings.public_url
            )
            return page_of(access_item(session, actor, item_id, Action.SEE))

    try:
        page = await run_in_threadpool(add)
    except errors.StrongroomError as exc:
        return _refused(runtime, actor, item_id, exc)
    return _back(page, people="added")


@router.post("/people/{grant_id}/change")
async def change_role(
    request: Request,
    grant_id: str,
    runtime: RuntimeDep,
    *,
    role: Annotated[Role, Form()],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)

    def change() -> str:
        with transaction(runtime.sessions) as session:
            _, item = collaborations.access_grant(session, actor, grant_id)
            collaborations.change_role(session, actor, grant_id=grant_id, role=role, clock=runtime.clock)
            return page_of(item)

    try:
        page = await run_in_threadpool(change)
    except errors.NotAllowed:
        with transaction(runtime.sessions) as session:
            _, item = collaborations.access_grant(session, actor, grant_id)
            return _back(page_of(item), people_error=errors.NotAllowed.code)
    return _back(page, people="changed")


@router.get("/people/{grant_id}/remove")
def confirm_remove(request: Request, grant_id: str, runtime: RuntimeDep) -> Response:
    """The confirmation page: removing access takes effect at once."""
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        grant, item = collaborations.access_grant(session, actor, grant_id)
        row = next(
            r for r in people.people_with_access(session, actor, item_id=item.id) if r.grant_id == grant.id
        )
        return render(
            request,
            "staff/confirm.html",
            nav="files",
            title=f"Remove {row.holder} from “{item.name}”?",
            body=f"They lose their {people.role_label(grant.role).lower()} access to it, and to everything "
            "in it, at once. You can give them access again later.",
            action=f"/people/{grant.id}/remove",
            button="Remove access",
            back=page_of(item) + "#people",
        )


@router.post("/people/{grant_id}/remove")
async def remove_person(
    request: Request,
    grant_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)

    def remove() -> str:
        with transaction(runtime.sessions) as session:
            _, item = collaborations.access_grant(session, actor, grant_id)
            collaborations.remove_grant(session, actor, grant_id=grant_id, clock=runtime.clock)
            return page_of(item)

    try:
        page = await run_in_threadpool(remove)
    except errors.NotAllowed:
        with transaction(runtime.sessions) as session:
            _, item = collaborations.access_grant(session, actor, grant_id)
            return _back(page_of(item), people_error=errors.NotAllowed.code)
    return _back(page, people="removed")


@router.get("/shared-with-me")
def shared_with_me(request: Request, runtime: RuntimeDep) -> Response:
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        rows = people.shared_with_me(session, actor)
        return render(
            request,
            "staff/shared_with_me.html",
            nav="shared",
            rows=rows,
            page_of=page_of,
            short_role=people.role_label,
        )
