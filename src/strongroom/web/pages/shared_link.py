"""The public door of shared links: `/s/<token>` pages and their JSON twins under `/s/<token>/api`.

A visitor walks: landing page (a view, never a download) → sign in / password / e-mail → code
(shared_link_proof) → the item, with a preview player or viewer, or a download button
(shared_link_content). Folders below a folder link are in shared_folder; what every route shares
(headers, errors, the visit cookie, `in_link`) is in shared_link_door.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from strongroom import errors
from strongroom.access.loaders import ancestry
from strongroom.clock import Clock
from strongroom.config import SharingSettings
from strongroom.content import document_views, playbacks, renditions
from strongroom.content import folders as content_folders
from strongroom.content.models import FileRendition, FileVersion, Folder, Item
from strongroom.sharing import download_claims, link_mail, link_scope, link_visits
from strongroom.sharing.link_visits import Step, Visit
from strongroom.sharing.models import SharedLink
from strongroom.web.pages import shared_link_content, shared_link_door, shared_link_proof
from strongroom.web.pages.shared_link_door import (
    error_json,
    error_page,
    in_link,
    page,
    remember_visitor,
    runtime_of,
    secure,
    steps_of,
)

router = APIRouter(include_in_schema=False)


def landing_context(
    session: Any,
    link: SharedLink,
    visit: Visit,
    *,
    item: Item,
    base: str,
    clock: Clock,
    settings: SharingSettings,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "base": base,
        "item": item,
        "expires_at": link.expires_at,
        "preview_only": link.preview_only,
        "viewer": visit.verified_email or (visit.user.label if visit.user else None),
        "title": item.name,
        "facts": link_mail.link_facts(session, link, settings),
        "trail": trail(session, link, item, base),
    }
    if isinstance(item, Folder):
        actor = link_visits.visitor_actor(link, visit)
        context["children"] = link_scope.list_for_visitor(session, link, actor, item, clock=clock)
        remaining = download_claims.remaining(link)
        context["remaining"] = remaining
        context["zip_url"] = None if link.preview_only or remaining == 0 else f"{base}/zip/{item.id}"
    else:
        context.update(file_context(session, link, item, base))
    return context


def trail(session: Any, link: SharedLink, item: Item, base: str) -> list[tuple[str, str]]:
    """Breadcrumbs from the linked folder down to the item's parent: (name, URL). Never above the link."""
    chain = ancestry(session, item)
    ids = [node.id for node in chain]
    if link.item_id not in ids or chain[-1].id == link.item_id:
        return []
    below = chain[ids.index(link.item_id) : -1]
    return [(node.name, base if node.id == link.item_id else f"{base}/folders/{node.id}") for node in below]


def file_context(session: Any, link: SharedLink, file: Item, base: str) -> dict[str, Any]:
    remaining = None if link.download_limit is None else max(link.download_limit - link.download_count, 0)
    context: dict[str, Any] = {
        "playback_id": playbacks.new_playback_id(),
        "download_url": None if link.preview_only or remaining == 0 else f"{base}/content/{file.id}",
        "remaining": remaining,
        "limits_url": f"{base}/api/limits",
    }
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    if document_views.is_document(file.content_type):
        # Word, Excel, PowerPoint, OpenDocument and PDF: the staff pdf.js viewer (external/document.js).
        status = document_views.document_status(session, version)
        unsupported = status.state == "unsupported"
        return context | {
            "media": None if unsupported else "document",
            "no_preview_reason": status.reason if unsupported else None,
            "preview_url": f"{base}/document/{file.id}" if status.state == "ready" else None,
            "document_url": f"{base}/document/{file.id}",
            "preview_state_url": f"{base}/api/document/{file.id}",
            "document_is_copy": not document_views.is_pdf(file.content_type),
        }
    ready = session.scalar(
        select(FileRendition.id).where(
            FileRendition.version_id == file.current_version_id,
            FileRendition.kind == renditions.PREVIEW,  # a ready thumbnail is no preview to play
            FileRendition.status == "ready",
        )
    )
    status = renditions.preview_status(session, version)
    unsupported = status.state == "unsupported"
    return context | {
        "media": None if unsupported else renditions.family_of(file.content_type),
        "no_preview_reason": status.reason if unsupported else None,
        "preview_url": f"{base}/preview/{file.id}" if ready else None,
    }


def item_summary(item: Item | content_folders.ListedItem) -> dict[str, Any]:
    is_file = not item.is_folder
    return {
        "id": item.id,
        "type": item.kind,
        "name": item.name,
        "size": item.size if is_file else None,
        "sha256": item.sha256 if is_file else None,
        "content_type": item.content_type if is_file else None,
    }


# --- HTML pages ---------------------------------------------------------------------------------


@router.get("/s/{token}", response_class=HTMLResponse)
def landing(token: str, request: Request) -> Response:
    """The link's page: what it needs next, or the item. Counts as a view, never as a download."""
    runtime = runtime_of(request)
    base = f"/s/{token}"

    def work(session: Any, link: SharedLink, visit: Visit) -> Response:
        item, step = link_visits.open_shared_link(session, link, visit, clock=runtime.clock)
        if step is Step.SIGN_IN:
            return page(
                request,
                "sign_in.html",
                status_code=401,
                title="Sign in",
                base=base,
                level=link.access_level,
                steps=steps_of(link),
            )
        if step is Step.PASSWORD:
            return page(request, "password.html", title="Password", base=base, steps=steps_of(link))
        if step is Step.EMAIL:
            return page(
                request, "email.html", title="Confirm your e-mail address", base=base, steps=steps_of(link)
            )
        context = landing_context(
            session, link, visit, item=item, base=base, clock=runtime.clock, settings=runtime.settings.sharing
        )
        response = page(request, "item.html", **context)
        remember_visitor(runtime, request, response, token, link)
        return response

    try:
        return in_link(runtime, request, token, work)  # type: ignore[no-any-return]
    except errors.StrongroomError as exc:
        return error_page(request, exc)


@router.get("/s/{token}/files/{file_id}", response_class=HTMLResponse)
def file_page(token: str, file_id: str, request: Request) -> Response:
    """A file inside a shared folder."""
    runtime = runtime_of(request)
    base = f"/s/{token}"

    def work(session: Any, link: SharedLink, visit: Visit) -> Response:
        actor = link_visits.require_ready(session, link, visit)
        from strongroom.access.actions import Action
        from strongroom.access.loaders import access_file

        file = access_file(session, actor, file_id, Action.SEE)
        context: dict[str, Any] = {
            "base": base,
            "item": file,
            "trail": trail(session, link, file, base),
            "facts": link_mail.link_facts(session, link, runtime.settings.sharing),
            "title": file.name,
            "expires_at": link.expires_at,
            "preview_only": link.preview_only,
            "viewer": actor.label,
        }
        return page(request, "item.html", **context, **file_context(session, link, file, base))

    try:
        return in_link(runtime, request, token, work, item_id=file_id)  # type: ignore[no-any-return]
    except errors.Unauthenticated:
        return secure(RedirectResponse(base, status_code=303))
    except errors.StrongroomError as exc:
        return error_page(request, exc)


@router.get("/s/{token}/api")
def api_landing(token: str, request: Request) -> Response:
    """What the link needs next (`step`) and, once ready, the item (and a folder's contents)."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> dict[str, Any]:
        item, step = link_visits.open_shared_link(session, link, visit, clock=runtime.clock)
        body: dict[str, Any] = {
            "step": step.value,
            "preview_only": link.preview_only,
            "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        }
        if step is Step.READY:
            facts = link_mail.link_facts(session, link, runtime.settings.sharing)
            body.update(
                downloads_left=download_claims.remaining(link),
                shared_by=facts.shared_by,
                force=facts.force or None,
                about=facts.about or None,
            )
            body["item"] = item_summary(item)
            if isinstance(item, Folder):
                actor = link_visits.visitor_actor(link, visit)
                listing = link_scope.list_for_visitor(session, link, actor, item, clock=runtime.clock)
                body["items"] = [item_summary(child) for child in listing]
        return body

    try:
        return secure(JSONResponse(in_link(runtime, request, token, work)))
    except errors.StrongroomError as exc:
        return error_json(exc)


# The link's other routes, so the app includes one router for all of /s/<token> and /s-assets.
router.include_router(shared_link_door.router)
router.include_router(shared_link_proof.router)
router.include_router(shared_link_content.router)
