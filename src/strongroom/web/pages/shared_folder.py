"""Shared folder links all the way down: subfolders, and zips of a folder or a selection.

A visitor of a folder link opens any folder below it (`/s/<token>/folders/<id>`), never one above it
or beside it: `access.policy.can` answers for the link's own actor, and classification above the
link's ceiling is withheld (and recorded) exactly as on the link's first page. A zip counts once
against the download limit and records every file in it; it stops if the link is revoked meanwhile.
`/s/<token>/api/limits` tells the page how many downloads are left, so the count it shows stays true.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from strongroom import errors
from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder
from strongroom.api.zips import zip_response
from strongroom.content.zips import MAX_SELECTION, ZipPlan
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.sharing import download_claims, link_mail, link_scope, link_visits, link_zips
from strongroom.sharing.link_visits import Visit
from strongroom.sharing.models import SharedLink
from strongroom.web.pages.shared_link import item_summary, trail
from strongroom.web.pages.shared_link_door import (
    EXTERNAL_HEADERS,
    content_error,
    error_json,
    error_page,
    in_link,
    page,
    runtime_of,
    secure,
)

router = APIRouter(include_in_schema=False)


@router.get("/s/{token}/folders/{folder_id}", response_class=HTMLResponse)
def folder_page(token: str, folder_id: str, request: Request) -> Response:
    """A folder below the linked one: its contents, with the same rules as the link's first page."""
    runtime = runtime_of(request)
    base = f"/s/{token}"

    def work(session: Any, link: SharedLink, visit: Visit) -> Response:
        actor = link_visits.require_ready(session, link, visit)
        folder = access_folder(session, actor, folder_id, Action.SEE)
        if folder.id == link.item_id:
            return secure(RedirectResponse(base, status_code=303))
        remaining = download_claims.remaining(link)
        context: dict[str, Any] = {
            "base": base,
            "item": folder,
            "title": folder.name,
            "trail": trail(session, link, folder, base),
            "facts": link_mail.link_facts(session, link, runtime.settings.sharing),
            "expires_at": link.expires_at,
            "preview_only": link.preview_only,
            "viewer": actor.label if actor.label != "anonymous" else None,
            "children": link_scope.list_for_visitor(session, link, actor, folder, clock=runtime.clock),
            "remaining": remaining,
            "zip_url": None if link.preview_only or remaining == 0 else f"{base}/zip/{folder.id}",
        }
        return page(request, "item.html", **context)

    try:
        return in_link(runtime, request, token, work, item_id=folder_id)  # type: ignore[no-any-return]
    except errors.Unauthenticated:
        return secure(RedirectResponse(base, status_code=303))
    except errors.StrongroomError as exc:
        return error_page(request, exc)


def _zip(runtime: Runtime, request: Request, token: str, item_ids: list[str]) -> Response:
    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[str, ZipPlan | None]:
        plan = link_zips.open_link_zip(
            session,
            link,
            visit,
            item_ids=item_ids,
            settings=runtime.settings.sharing,
            clock=runtime.clock,
        )
        return link.id, plan

    try:
        link_id, plan = in_link(runtime, request, token, work, item_id=item_ids[0] if item_ids else None)
        if plan is None:
            raise errors.Gone("This link has been used as many times as it allows.")
    except errors.StrongroomError as exc:
        return content_error(request, token, exc)

    def still_live(sent: int) -> bool:
        with transaction(runtime.sessions) as session:
            if link_visits.link_is_live(session, link_id, clock=runtime.clock):
                return True
            link_visits.record_stream_cut(
                session, link_id, file_id=plan.zip_id, sent=sent, clock=runtime.clock
            )
            return False

    response = zip_response(runtime, plan, still_live=still_live)
    for name, value in EXTERNAL_HEADERS.items():
        response.headers[name] = value
    return response


@router.get("/s/{token}/zip/{folder_id}")
def folder_zip(token: str, folder_id: str, request: Request) -> Response:
    """The folder (the linked one or one below it) with everything below it the link serves, as one
    zip. Counts once against the download limit."""
    return _zip(runtime_of(request), request, token, [folder_id])


@router.post("/s/{token}/zip")
def selection_zip(
    token: str,
    request: Request,
    item_id: Annotated[list[str] | None, Form(max_length=MAX_SELECTION)] = None,
) -> Response:
    """The ticked files and folders as one zip. Counts once against the download limit."""
    if not item_id:
        exc = errors.InputError("Tick the files or folders to download first.", field="item_id")
        return content_error(request, token, exc)
    return _zip(runtime_of(request), request, token, item_id)


@router.get("/s/{token}/api/folders/{folder_id}")
def api_folder(token: str, folder_id: str, request: Request) -> Response:
    """The JSON twin of a subfolder's page: the folder and what the link serves in it."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> dict[str, Any]:
        actor = link_visits.require_ready(session, link, visit)
        folder = access_folder(session, actor, folder_id, Action.SEE)
        listing = link_scope.list_for_visitor(session, link, actor, folder, clock=runtime.clock)
        return {"item": item_summary(folder), "items": [item_summary(child) for child in listing]}

    try:
        return secure(JSONResponse(in_link(runtime, request, token, work, item_id=folder_id)))
    except errors.StrongroomError as exc:
        return error_json(exc)


@router.get("/s/{token}/api/limits")
def limits(token: str, request: Request) -> Response:
    """How many downloads the link has left (null: no limit). Reads no content; records nothing."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> dict[str, Any]:
        link_visits.require_ready(session, link, visit)
        return {"downloads_left": download_claims.remaining(link), "preview_only": link.preview_only}

    try:
        return secure(JSONResponse(in_link(runtime, request, token, work)))
    except errors.StrongroomError as exc:
        return error_json(exc)
