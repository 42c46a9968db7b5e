"""My shared links and my upload requests: what I handed out, what state each is in, and changing
them: a later (or earlier) expiry, another download limit, revoking a link or closing a request, each
after a confirmation page. Plain forms; no script needed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from strongroom.api.deps import RuntimeDep
from strongroom.api.errors import status_of
from strongroom.db.session import transaction
from strongroom.errors import InputError
from strongroom.runtime import Runtime
from strongroom.sharing import mine, shared_links, upload_requests
from strongroom.sharing.models import SharedLink, UploadRequest
from strongroom.sharing.schemas import SharedLinkUpdate
from strongroom.web import charts
from strongroom.web.pages import HtmlRoute, run_form, signed_in, staff_form
from strongroom.web.templating import UK_ZONE, render, uk_time

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

LINK_STATES = {"live": "Active", "expired": "Expired", "used_up": "Used up", "revoked": "Revoked"}
REQUEST_STATES = {"open": "Open", "expired": "Expired", "used": "Used", "closed": "Closed"}
NOTICES = {
    "changed": "Your changes are saved.",
    "revoked": "The link is revoked. Nobody can open it any more.",
    "closed": "The upload request is closed. Nobody can send files with it any more.",
}


def end_of_day(value: str) -> datetime | None:
    """A date from a form as the last minute of that day in UK time; empty means no end. Raises InputError."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError("Enter the date as day, month and year.", field="expires_on") from None
    return datetime.combine(day, time(23, 59), tzinfo=UK_ZONE or UTC).astimezone(UTC)


def parse_limit(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= 1_000_000:
        raise InputError("The download limit is a whole number from 1 to 1,000,000.", field="download_limit")
    return int(value)


def _links_page(request: Request, runtime: Runtime, *, status_code: int = 200, **extra: Any) -> Response:
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        rows = mine.my_links(session, actor, clock=runtime.clock)
        context: dict[str, Any] = {
            "rows": rows,
            "states": LINK_STATES,
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "error": None,
            **extra,
        }
        return render(request, "staff/my_links.html", status_code=status_code, nav="links", **context)


def _requests_page(request: Request, runtime: Runtime, *, status_code: int = 200, **extra: Any) -> Response:
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        rows = mine.my_upload_requests(session, actor, clock=runtime.clock)
        context: dict[str, Any] = {
            "rows": rows,
            "states": REQUEST_STATES,
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "error": None,
            **extra,
        }
        return render(request, "staff/my_requests.html", status_code=status_code, nav="requests", **context)


@router.get("/my/shared-links")
def links_page(request: Request, runtime: RuntimeDep) -> Response:
    return _links_page(request, runtime)


@router.post("/my/shared-links/{link_id}/change")
async def change_link(
    request: Request,
    link_id: str,
    runtime: RuntimeDep,
    *,
    expires_on: Annotated[str, Form(max_length=20)] = "",
    download_limit: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = staff_form(request, csrf_token)

    def change() -> None:
        changes = SharedLinkUpdate(
            expires_at=end_of_day(expires_on), download_limit=parse_limit(download_limit)
        )
        with transaction(runtime.sessions) as session:
            shared_links.update_shared_link(
                session,
                actor,
                link_id=link_id,
                changes=changes,
                settings=runtime.settings.sharing,
                clock=runtime.clock,
            )

    refused = await run_form(
        change,
        lambda exc: _links_page(request, runtime, status_code=status_of(exc), error=(link_id, exc.message)),
    )
    if isinstance(refused, Response):
        return refused
    return RedirectResponse("/my/shared-links?done=changed", status_code=303)


@router.get("/my/shared-links/{link_id}/revoke")
def confirm_revoke(request: Request, link_id: str, runtime: RuntimeDep) -> Response:
    """The confirmation page: revoking cannot be undone."""
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        link, item = shared_links.access_link(session, actor, link_id, to_revoke=True)
        return render(
            request,
            "staff/confirm.html",
            nav="links",
            title=f"Revoke the link to {item.name}?",
            body="Anyone with the link loses access at once, also in the middle of a download. "
            "This cannot be undone; you can make a new link later.",
            action=f"/my/shared-links/{link.id}/revoke",
            button="Revoke the link",
            back="/my/shared-links",
        )


@router.post("/my/shared-links/{link_id}/revoke")
async def revoke_link(
    request: Request, link_id: str, runtime: RuntimeDep, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    actor = staff_form(request, csrf_token)

    def revoke() -> SharedLink:
        with transaction(runtime.sessions) as session:
            return shared_links.revoke_shared_link(session, actor, link_id=link_id, clock=runtime.clock)

    await run_in_threadpool(revoke)
    return RedirectResponse("/my/shared-links?done=revoked", status_code=303)


LANES = {"opened": "Opened", "viewed": "Viewed", "downloaded": "Downloaded", "refused": "Refused"}


@router.get("/my/shared-links/{link_id}")
def link_activity(request: Request, link_id: str, runtime: RuntimeDep) -> Response:
    """One of my links: its state and a timeline of what its visitors did (moments only, no names)."""
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        row, accesses = mine.link_accesses(session, actor, link_id=link_id, clock=runtime.clock)
        link = row.link
        now = runtime.clock.now()
        end = min(now, link.revoked_at or now)
        picture = charts.timeline(accesses, lanes=LANES, start=link.created_at, end=end, fmt=uk_time)
        return render(
            request,
            "staff/link_activity.html",
            nav="links",
            row=row,
            link=link,
            states=LINK_STATES,
            timeline=picture,
        )


@router.get("/my/upload-requests")
def requests_page(request: Request, runtime: RuntimeDep) -> Response:
    return _requests_page(request, runtime)


@router.post("/my/upload-requests/{request_id}/change")
async def change_request(
    request: Request,
    request_id: str,
    runtime: RuntimeDep,
    *,
    expires_on: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = staff_form(request, csrf_token)

    def change() -> None:
        ends = end_of_day(expires_on)
        with transaction(runtime.sessions) as session:
            mine.change_upload_request(
                session, actor, request_id=request_id, expires_at=ends, clock=runtime.clock
            )

    refused = await run_form(
        change,
        lambda exc: _requests_page(
            request, runtime, status_code=status_of(exc), error=(request_id, exc.message)
        ),
    )
    if isinstance(refused, Response):
        return refused
    return RedirectResponse("/my/upload-requests?done=changed", status_code=303)


@router.get("/my/upload-requests/{request_id}/close")
def confirm_close(request: Request, request_id: str, runtime: RuntimeDep) -> Response:
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        upload = upload_requests.access_upload_request(session, actor, request_id)
        return render(
            request,
            "staff/confirm.html",
            nav="requests",
            title=f"Close the upload request “{upload.title}”?",
            body="Nobody can send files with it any more; files already received stay where they are. "
            "This cannot be undone; you can make a new request later.",
            action=f"/my/upload-requests/{upload.id}/close",
            button="Close the request",
            back="/my/upload-requests",
        )


@router.post("/my/upload-requests/{request_id}/close")
async def close_request(
    request: Request,
    request_id: str,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = staff_form(request, csrf_token)

    def close() -> UploadRequest:
        with transaction(runtime.sessions) as session:
            return upload_requests.revoke_upload_request(
                session, actor, request_id=request_id, clock=runtime.clock
            )

    await run_in_threadpool(close)
    return RedirectResponse("/my/upload-requests?done=closed", status_code=303)
