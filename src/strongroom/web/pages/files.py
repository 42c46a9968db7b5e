"""The file browser: folders with breadcrumbs, sorting and paging; item details with preview,
versions and the access report; the trash.

Pages read through the domain services; changes (rename, move, delete, restore, upload) are made by
the page's script through the REST API with the session cookie and CSRF header, so there is one
implementation of every change. Creating a folder also works without script (a plain form post).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder, may
from strongroom.access.policy import role_rules_out
from strongroom.actors import Actor
from strongroom.api.deps import RuntimeDep
from strongroom.audit.reasons import MAX_REASON_CHARS, clean_reason
from strongroom.content import files as content_files
from strongroom.content import folders as content_folders
from strongroom.content import playbacks, renditions
from strongroom.content import thumbnails as content_thumbnails
from strongroom.content import trash as content_trash
from strongroom.content import versions as content_versions
from strongroom.content.models import File
from strongroom.content.reads import READABLE_SCAN_STATES
from strongroom.db.session import transaction
from strongroom.errors import NotFound
from strongroom.skills import processing as skill_processing
from strongroom.skills import virus_scan
from strongroom.web import csrf
from strongroom.web.pages import HtmlRoute, signed_in
from strongroom.web.pages.classification import classification_context
from strongroom.web.pages.listing import SortKey, list_folder
from strongroom.web.pages.people import people_context
from strongroom.web.previews import offer
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
PAGE_SIZE = 100
# Short tags for files that cannot be opened yet (or ever); clean and unscanned files carry none.
SCAN_TAGS = {
    "pending": "Waiting for virus scan",
    "unavailable": "Scanner unavailable",
    "too_large": "Too large to scan",
    "infected": "Quarantined",
    "tampered": "Integrity check failed",
}


@router.get("/files")
def my_files(request: Request) -> Response:
    user, _ = signed_in(request)
    return RedirectResponse(f"/files/{user.root_folder_id}", status_code=303)


@router.get("/files/{folder_id}")
def folder_page(
    request: Request,
    folder_id: str,
    runtime: RuntimeDep,
    *,
    sort: SortKey = SortKey.NAME,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    marker: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    user, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        folder = access_folder(session, actor, folder_id, Action.SEE)
        path = content_folders.folder_path(session, folder)
        listing = list_folder(
            session,
            actor,
            folder_id=folder.id,
            sort=sort,
            descending=order == "desc",
            limit=PAGE_SIZE,
            marker=marker,
        )
        return render(
            request,
            "staff/folder.html",
            nav="files",
            folder=folder,
            path=path,
            is_root=folder.id == user.root_folder_id,
            items=listing.items,
            thumbnails=content_thumbnails.with_thumbnails(
                session, [item.current_version_id for item in listing.items if not item.is_folder]
            ),
            next_marker=listing.next_marker,
            first_page=marker is None,
            sort=sort.value,
            order=order,
            max_upload_bytes=runtime.settings.limits.max_upload_bytes,
            scan_labels=SCAN_TAGS,
            role_shares=not role_rules_out(actor, Action.SHARE),  # no Share / Request files for guests
            **(people_context(session, actor, folder, request) if folder.parent_id else {}),
            **classification_context(
                session,
                actor,
                folder,
                reason_required_for=runtime.settings.audit.reason_required_for,
                reason=None,
            ),
        )


@router.post("/files/{folder_id}/new-folder")
async def new_folder(
    request: Request,
    folder_id: str,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create a folder without script; the script path uses POST /api/v1/folders instead."""
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)

    def create() -> str:
        with transaction(runtime.sessions) as session:
            created = content_folders.create_folder(
                session,
                actor,
                parent_id=folder_id,
                name=name,
                clock=runtime.clock,
                max_depth=runtime.settings.limits.max_path_depth,
            )
            return created.id

    await run_in_threadpool(create)
    return RedirectResponse(f"/files/{folder_id}", status_code=303)


@router.get("/items/{item_id}")
def item_page(
    request: Request,
    item_id: str,
    runtime: RuntimeDep,
    reason: Annotated[str | None, Query(max_length=3 * MAX_REASON_CHARS)] = None,
) -> Response:
    """A file's page. Classified content that asks for a reason is shown only once one is stated
    (`?reason=`); the reason then travels with every content request of the page and is audited."""
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        item = content_files.get_item(session, actor, item_id=item_id)
        if item.is_folder:
            return RedirectResponse(f"/files/{item.id}", status_code=303)
        assert isinstance(item, File)
        parent = access_folder(session, actor, item.parent_id, Action.SEE) if item.parent_id else None
        path = content_folders.folder_path(session, parent) if parent else []
        versions = content_versions.list_versions(session, actor, file_id=item.id)
        current = next((v for v in versions if v.id == item.current_version_id), None)
        preview, no_preview_reason = offer(
            item.name, item.content_type, renditions.preview_status(session, current)
        )
        return render(
            request,
            "staff/item.html",
            nav="files",
            item=item,
            path=path,
            versions=versions,
            preview=preview,
            no_preview_reason=no_preview_reason,
            playback_id=playbacks.new_playback_id(),
            scan=virus_scan.scan_state(current) if current else None,
            readable=current is not None and current.scan_status in READABLE_SCAN_STATES,
            skills_log=_skills_log(session, actor, item.id),
            skills_can_run=may(session, actor, item.id, Action.EDIT),
            role_shares=not role_rules_out(actor, Action.SHARE),
            **people_context(session, actor, item, request),
            **classification_context(
                session,
                actor,
                item,
                reason_required_for=runtime.settings.audit.reason_required_for,
                reason=clean_reason(reason),
            ),
        )


def _skills_log(session: Session, actor: Actor, file_id: str) -> skill_processing.ProcessingLog | None:
    """The processing log, for those who may preview the file (others see no log)."""
    try:
        return skill_processing.processing_log(session, actor, file_id=file_id)
    except NotFound:
        return None


@router.post("/items/{item_id}/skills")
async def rerun_skills(
    request: Request,
    item_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The re-run button: queue every skill that fits the file again (needs EDIT; recorded)."""
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)

    def queue() -> None:
        with transaction(runtime.sessions) as session:
            skill_processing.request_runs(
                session, actor, file_id=item_id, jobs=runtime.jobs, clock=runtime.clock
            )

    await run_in_threadpool(queue)
    return RedirectResponse(f"/items/{item_id}#skills", status_code=303)


@router.get("/trash")
def trash_page(request: Request, runtime: RuntimeDep) -> Response:
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        items = content_trash.list_trash(session, actor)
        return render(
            request,
            "staff/trash.html",
            nav="trash",
            items=items,
            retention_days=runtime.settings.trash.retention_days,
        )
