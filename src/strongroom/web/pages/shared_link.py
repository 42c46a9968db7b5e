"""The public door of shared links: `/s/<token>` pages and their JSON twins under `/s/<token>/api`.

A visitor walks: landing page (a view, never a download) → sign in / password / e-mail → code
(a two-step page: GET only shows the form, only POST uses the code, so a mail scanner following
links cannot burn it) → the item, with a preview player or a download button. What the visitor
has proved is kept in a signed cookie scoped to the link's path; every request re-reads the link,
so revocation and expiry act at once, even on a download already streaming.

Tokens are never logged or put in audit details (the link's id is). Every response here carries
`Referrer-Policy: no-referrer` and `X-Robots-Tag: noindex`, so tokens do not leak to other sites
or search engines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from strongroom import errors
from strongroom.access.loaders import ancestry
from strongroom.actors import Actor
from strongroom.api.deps import authenticate, bearer_token, origin_of
from strongroom.api.errors import problem_response, status_of
from strongroom.api.streaming import Playback, RecordedStream, content_headers, plaintext_chunks
from strongroom.clock import Clock
from strongroom.config import SharingSettings
from strongroom.content import folders as content_folders
from strongroom.content import playbacks, renditions
from strongroom.content.models import FileRendition, FileVersion, Folder, Item
from strongroom.content.reads import ContentToSend
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.sharing import download_claims, link_mail, link_scope, shared_links
from strongroom.sharing.models import SharedLink
from strongroom.sharing.shared_links import Step, Visit
from strongroom.web.templating import templates

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent.parent / "static"
# The staff stylesheet and brand mark are served here too, so the external pages look like the same
# product while loading nothing from /static/ (which may live behind the staff-only host).
ASSETS = {
    "strongroom.css": (STATIC / "css" / "strongroom.css", "text/css"),
    "external.css": (STATIC / "external.css", "text/css"),
    "logo.svg": (STATIC / "img" / "logo.svg", "image/svg+xml"),
    "favicon.svg": (STATIC / "img" / "favicon.svg", "image/svg+xml"),
    "upload.js": (STATIC / "external" / "upload.js", "text/javascript"),
    "pages.js": (STATIC / "external" / "pages.js", "text/javascript"),
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
EXTERNAL_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
VISIT_COOKIE = "sr_visit"
VISIT_SECONDS = 12 * 3600
# A running link download re-reads the link's state after this many segments or seconds, whichever
# comes first: revoking a link cuts a 100 GB download within a second or so.
RECHECK_SEGMENTS = 8
RECHECK_SECONDS = 1.0
ERROR_TITLES = {
    400: "There is a problem",
    401: "You need to confirm who you are",
    403: "You cannot open this",
    404: "Page not found",
    410: "This link is no longer available",
    429: "Too many attempts",
    503: "Sorry, the service is unavailable",
    507: "Sorry, there is no room to store this",
}


STEP_NAMES = {
    "sign_in": "Sign in",
    "password": "Password",
    "email": "Your e-mail address",
    "code": "Code",
    "view": "View",
}


def runtime_of(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


def secure(response: Response) -> Response:
    for name, value in EXTERNAL_HEADERS.items():
        response.headers[name] = value
    if "content-security-policy" not in response.headers:
        response.headers["Content-Security-Policy"] = CSP
    return response


@cache
def _asset_version(name: str) -> str:
    return hashlib.sha256(ASSETS[name][0].read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """An /s-assets/ URL with a content hash, so a changed stylesheet is fetched anew despite caching."""
    return f"/s-assets/{name}?v={_asset_version(name)}"


def page(request: Request, name: str, *, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("asset", asset_url)
    context.setdefault("step_names", STEP_NAMES)
    return secure(templates.TemplateResponse(request, f"external/{name}", context, status_code=status_code))


def steps_of(link: SharedLink) -> list[str]:
    """The steps this link's visitor walks, for "Step 2 of 3" (the last step is seeing the item)."""
    steps = ["sign_in"] if link.access_level != "anyone" else []
    if link.password_hash is not None:
        steps.append("password")
    if link.require_recipient_proof:
        steps += ["email", "code"]
    return [*steps, "view"]


def mask_email(email: str) -> str:
    """p***@cps.example.test: enough to spot a typo, not enough to read over a shoulder."""
    local, at, domain = email.strip().partition("@")
    if not at:
        return local[:1] + "***" if local else ""
    return f"{local[:1]}***@{domain}"


def error_page(request: Request, exc: errors.StrongroomError, *, back: str | None = None) -> Response:
    status = status_of(exc)
    # Gone says nothing about the item: not its name, not why beyond "withdrawn or expired".
    response = page(
        request,
        "message.html",
        status_code=status,
        title=ERROR_TITLES.get(status, "Something went wrong"),
        message=exc.message,
        status=status,
        back=back,
    )
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.data.get("retry_after_seconds", 60))
    return response


def content_error(request: Request, token: str, exc: errors.StrongroomError) -> Response:
    """A refused download or preview: JSON for scripts and players, a page for a person who clicked.

    Someone whose visit ran out is sent back to the link's first step rather than shown an error.
    """
    if "text/html" not in request.headers.get("accept", ""):
        return error_json(exc)
    if isinstance(exc, errors.Unauthenticated):
        return secure(RedirectResponse(f"/s/{token}", status_code=303))
    # A refused download is a page of its own (the browser navigates to it): it leads back.
    return error_page(request, exc, back=f"/s/{token}")


def error_json(exc: errors.StrongroomError) -> Response:
    response = problem_response(status_of(exc), exc.code, exc.message, data=exc.data)
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.data.get("retry_after_seconds", 60))
    return secure(response)


@router.get("/s-assets/{name}")
def asset(name: str) -> Response:
    """The external pages' CSS and JS (their own, so these pages need nothing of the staff UI)."""
    if name not in ASSETS:
        return secure(Response(status_code=404))
    path, media = ASSETS[name]
    response = Response(path.read_bytes(), media_type=media)
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- the visit cookie ---------------------------------------------------------------------------


def _sign(runtime: Runtime, payload: bytes) -> str:
    key = hashlib.sha256(b"strongroom visit cookie:" + runtime.secret_key.encode()).digest()
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode().rstrip("=")


def _password_mark(link: SharedLink) -> str:
    # Changing the password invalidates every visitor's "password given" mark.
    return hashlib.sha256((link.password_hash or "").encode()).hexdigest()[:16]


def read_visit_cookie(runtime: Runtime, request: Request, link: SharedLink) -> dict[str, Any]:
    raw = request.cookies.get(VISIT_COOKIE, "")
    body, _, signature = raw.rpartition(".")
    if not body or not hmac.compare_digest(_sign(runtime, body.encode()), signature):
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return {}
    if not isinstance(data, dict) or data.get("l") != link.id or data.get("x", 0) < time.time():
        return {}
    return data


def write_visit_cookie(runtime: Runtime, response: Response, token: str, data: dict[str, Any]) -> None:
    data = {**data, "x": int(time.time()) + VISIT_SECONDS}
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    response.set_cookie(
        VISIT_COOKIE,
        f"{body}.{_sign(runtime, body.encode())}",
        max_age=VISIT_SECONDS,
        path=f"/s/{token}",
        httponly=True,
        samesite="lax",
        secure=runtime.settings.public_url.startswith("https://"),
    )


def signed_in_user(runtime: Runtime, request: Request) -> Actor | None:
    """A member of the force, by web session or bearer token; None for everyone else."""
    session_actor = getattr(request.state, "session_actor", None)
    if isinstance(session_actor, Actor):
        return session_actor
    if bearer_token(request) is None:
        return None
    return authenticate(runtime, request)


def visit_of(runtime: Runtime, request: Request, link: SharedLink, *, user: Actor | None) -> Visit:
    data = read_visit_cookie(runtime, request, link)
    return Visit(
        origin=origin_of(request),
        password_ok=link.password_hash is not None and data.get("p") == _password_mark(link),
        verified_email=data.get("e") if isinstance(data.get("e"), str) else None,
        user=user,
        visitor_id=data.get("v") if isinstance(data.get("v"), str) else None,
    )


def remember_visitor(
    runtime: Runtime, request: Request, response: Response, token: str, link: SharedLink
) -> None:
    """Give this browser a random visitor id (in the visit cookie), so its seeking and resuming count as
    one download (sharing.download_claims)."""
    data = read_visit_cookie(runtime, request, link)
    if not isinstance(data.get("v"), str):
        write_visit_cookie(runtime, response, token, {**data, "l": link.id, "v": secrets.token_urlsafe(12)})


# --- shared steps, used by the HTML and the JSON routes -----------------------------------------


def _in_link(
    runtime: Runtime,
    request: Request,
    token: str,
    work: Callable[[Any, SharedLink, Visit], Any],
    *,
    item_id: str | None = None,
) -> Any:
    """Run `work` for the live link a token opens. A token that opens nothing is counted (committed) as a
    guess before NotFound; a refusal that classification caused is recorded, naming the link, before it
    is answered like any other "not found" or "gone"."""
    origin = origin_of(request)
    # Before the link's transaction: a bearer token is checked in a transaction of its own, and SQLite
    # admits one writer at a time.
    user = signed_in_user(runtime, request)
    try:
        with transaction(runtime.sessions) as session:
            link = shared_links.find_link(
                session, token, origin=origin, settings=runtime.settings.sharing, clock=runtime.clock
            )
            if link is not None:
                shared_links.ensure_live_now(session, link, clock=runtime.clock)
                return work(session, link, visit_of(runtime, request, link, user=user))
    except (errors.NotFound, errors.Gone):
        with transaction(runtime.sessions) as session:
            link_scope.note_withheld(
                session,
                shared_links.token_digest(token),
                item_id=item_id,
                origin=origin,
                clock=runtime.clock,
            )
        raise
    raise errors.NotFound("link", None)


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
        actor = shared_links.visitor_actor(link, visit)
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
    from sqlalchemy import select

    ready = session.scalar(
        select(FileRendition.id).where(
            FileRendition.version_id == file.current_version_id,
            FileRendition.kind == renditions.PREVIEW,  # a ready thumbnail is no preview to play
            FileRendition.status == "ready",
        )
    )
    remaining = None if link.download_limit is None else max(link.download_limit - link.download_count, 0)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    status = renditions.preview_status(session, version)
    unsupported = status.state == "unsupported"
    return {
        "media": None if unsupported else renditions.family_of(file.content_type),
        "no_preview_reason": status.reason if unsupported else None,
        "preview_url": f"{base}/preview/{file.id}" if ready else None,
        "playback_id": playbacks.new_playback_id(),
        "download_url": None if link.preview_only or remaining == 0 else f"{base}/content/{file.id}",
        "remaining": remaining,
        "limits_url": f"{base}/api/limits",
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
        item, step = shared_links.open_shared_link(session, link, visit, clock=runtime.clock)
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
        return _in_link(runtime, request, token, work)  # type: ignore[no-any-return]
    except errors.StrongroomError as exc:
        return error_page(request, exc)


@router.get("/s/{token}/files/{file_id}", response_class=HTMLResponse)
def file_page(token: str, file_id: str, request: Request) -> Response:
    """A file inside a shared folder."""
    runtime = runtime_of(request)
    base = f"/s/{token}"

    def work(session: Any, link: SharedLink, visit: Visit) -> Response:
        actor = shared_links.require_ready(session, link, visit)
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
        return _in_link(runtime, request, token, work, item_id=file_id)  # type: ignore[no-any-return]
    except errors.Unauthenticated:
        return secure(RedirectResponse(base, status_code=303))
    except errors.StrongroomError as exc:
        return error_page(request, exc)


@router.post("/s/{token}/password", response_class=HTMLResponse)
def password_form(
    token: str, request: Request, password: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    runtime = runtime_of(request)
    base = f"/s/{token}"
    try:
        ok, mark, data, steps = _check_password(runtime, request, token, password)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    if not ok:
        return page(
            request,
            "password.html",
            status_code=401,
            title="Password",
            base=base,
            steps=steps,
            error="That password is not right. Check it with the person who sent you the link.",
        )
    response = secure(RedirectResponse(base, status_code=303))
    write_visit_cookie(runtime, response, token, {**data, "p": mark})
    return response


def _check_password(
    runtime: Runtime, request: Request, token: str, password: str
) -> tuple[bool, str, dict[str, Any], list[str]]:
    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[bool, str, dict[str, Any], list[str]]:
        ok = shared_links.check_password(
            session, link, visit, password=password, settings=runtime.settings.sharing, clock=runtime.clock
        )
        data = read_visit_cookie(runtime, request, link) or {"l": link.id}
        return ok, _password_mark(link), data, steps_of(link)

    return _in_link(runtime, request, token, work)  # type: ignore[no-any-return]


def _send_code(runtime: Runtime, request: Request, token: str, email: str) -> None:
    def work(session: Any, link: SharedLink, visit: Visit) -> None:
        shared_links.send_code(
            session,
            link,
            visit,
            email=email,
            link_url=f"{runtime.settings.public_url}/s/{token}",
            settings=runtime.settings.sharing,
            mail=runtime.settings.mail,
            clock=runtime.clock,
        )

    _in_link(runtime, request, token, work)


def _verify_code(
    runtime: Runtime, request: Request, token: str, email: str, code: str
) -> dict[str, Any] | None:
    """The visit cookie's data once `code` proves `email`, else None."""

    def work(session: Any, link: SharedLink, visit: Visit) -> dict[str, Any] | None:
        proved = shared_links.verify_code(
            session,
            link,
            visit,
            email=email,
            code=code,
            settings=runtime.settings.sharing,
            clock=runtime.clock,
        )
        if proved is None:
            return None
        data = read_visit_cookie(runtime, request, link) or {"l": link.id}
        return {**data, "e": proved}

    return _in_link(runtime, request, token, work)  # type: ignore[no-any-return]


@router.post("/s/{token}/email", response_class=HTMLResponse)
def email_form(token: str, request: Request, email: Annotated[str, Form(max_length=320)] = "") -> Response:
    runtime = runtime_of(request)
    try:
        _send_code(runtime, request, token, email)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    from urllib.parse import quote

    # The e-mail travels in the query of our own page only (no-referrer keeps it here).
    return secure(RedirectResponse(f"/s/{token}/code?email={quote(email.strip())}", status_code=303))


@router.get("/s/{token}/code", response_class=HTMLResponse)
def code_page(token: str, request: Request, email: str = "") -> Response:
    """Step one of two: only shows the form. Fetching this page (as a mail scanner might) uses nothing."""
    runtime = runtime_of(request)
    try:
        steps = _in_link(runtime, request, token, lambda _s, link, _v: steps_of(link))
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    return code_form_page(request, token, email=email[:320], steps=steps)


def code_form_page(
    request: Request, token: str, *, email: str, steps: list[str], error: str | None = None
) -> Response:
    return page(
        request,
        "code.html",
        status_code=401 if error else 200,
        title="Enter your code",
        base=f"/s/{token}",
        email=email,
        masked_email=mask_email(email),
        steps=steps,
        error=error,
    )


@router.post("/s/{token}/code", response_class=HTMLResponse)
def code_form(
    token: str,
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Step two: the code is checked and used up only here."""
    runtime = runtime_of(request)
    try:
        data = _verify_code(runtime, request, token, email, code)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    if data is None:
        try:
            steps = _in_link(runtime, request, token, lambda _s, link, _v: steps_of(link))
        except errors.StrongroomError as exc:
            return error_page(request, exc)
        return code_form_page(
            request,
            token,
            email=email,
            steps=steps,
            error="That code is not right, or it has expired. Try again, or ask for a new one.",
        )
    response = secure(RedirectResponse(f"/s/{token}", status_code=303))
    write_visit_cookie(runtime, response, token, data)
    return response


# --- content: download (counted) and preview (not counted) --------------------------------------


class LinkCut(Exception):
    """The link was revoked or expired while its download was streaming."""


async def guarded_stream(runtime: Runtime, link_id: str, content: ContentToSend) -> AsyncIterator[bytes]:
    """The decrypted bytes, re-checking every few segments that the link is still live."""
    chunks: Iterator[memoryview] = plaintext_chunks(runtime, content)
    done = object()
    sent, since_check, checked_at = 0, 0, time.monotonic()

    def still_live() -> bool:
        with transaction(runtime.sessions) as session:
            if shared_links.link_is_live(session, link_id, clock=runtime.clock):
                return True
            shared_links.record_stream_cut(
                session, link_id, file_id=content.file_id, sent=sent, clock=runtime.clock
            )
            return False

    while True:
        if since_check >= RECHECK_SEGMENTS or time.monotonic() - checked_at >= RECHECK_SECONDS:
            if not await to_thread.run_sync(still_live):
                raise LinkCut(link_id)
            since_check, checked_at = 0, time.monotonic()
        chunk = await to_thread.run_sync(next, chunks, done)
        if chunk is done:
            return
        assert isinstance(chunk, bytes | bytearray | memoryview)
        data = bytes(chunk)
        sent += len(data)
        since_check += 1
        yield data


def stream(runtime: Runtime, link_id: str, content: ContentToSend, *, inline: bool) -> Response:
    headers = content_headers(content, inline=inline)
    status, length = 200, content.size
    if content.byte_range is not None:
        status, length = 206, content.byte_range.length
        headers["Content-Range"] = f"bytes {content.byte_range.start}-{content.byte_range.end}/{content.size}"
    headers["Content-Length"] = str(length)
    response = RecordedStream(
        guarded_stream(runtime, link_id, content),
        runtime=runtime,
        content=content,
        status_code=status,
        headers=headers,
        recorded_elsewhere=(LinkCut,),
    )
    for name, value in EXTERNAL_HEADERS.items():
        response.headers[name] = value
    return response


@router.get("/s/{token}/content/{file_id}")
def download(
    token: str,
    file_id: str,
    request: Request,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
) -> Response:
    """The original bytes (never for a preview-only link). Counts against the download limit once per
    visitor and file: that visitor's Range requests (seeking, resuming) do not count again.
    `If-Range` that no longer names the bytes turns a Range request into the whole file (200)."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[str, ContentToSend | None]:
        return link.id, shared_links.open_link_download(
            session,
            link,
            visit,
            file_id=file_id,
            range_header=range_header,
            if_range=if_range,
            clock=runtime.clock,
            resume_window=timedelta(hours=runtime.settings.sharing.resume_hours),
        )

    try:
        link_id, content = _in_link(runtime, request, token, work, item_id=file_id)
        if content is None:
            raise errors.Gone("This link has been used as many times as it allows.")
    except errors.StrongroomError as exc:
        return content_error(request, token, exc)
    return stream(runtime, link_id, content, inline=False)


@router.get("/s/{token}/preview/{file_id}")
def preview(
    token: str,
    file_id: str,
    request: Request,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    playback: Playback = None,
) -> Response:
    """The preview rendition (never the original bytes); Range for seeking; not a download. The page's
    player sends a `playback` id: its requests are recorded as one playback (content.playbacks)."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[str, ContentToSend]:
        actor = shared_links.require_ready(session, link, visit)
        return link.id, renditions.open_preview(
            session,
            actor,
            file_id=file_id,
            range_header=range_header,
            clock=runtime.clock,
            via="link",
            playback=playbacks.parse_playback_id(playback),
        )

    try:
        link_id, content = _in_link(runtime, request, token, work, item_id=file_id)
    except errors.StrongroomError as exc:
        return content_error(request, token, exc)
    return stream(runtime, link_id, content, inline=True)


# --- JSON twins for scripts and tests -----------------------------------------------------------


class PasswordBody(BaseModel):
    password: str = Field(max_length=200)


class EmailBody(BaseModel):
    email: str = Field(max_length=320)


class CodeBody(BaseModel):
    email: str = Field(max_length=320)
    code: str = Field(max_length=20)


@router.get("/s/{token}/api")
def api_landing(token: str, request: Request) -> Response:
    """What the link needs next (`step`) and, once ready, the item (and a folder's contents)."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> dict[str, Any]:
        item, step = shared_links.open_shared_link(session, link, visit, clock=runtime.clock)
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
                actor = shared_links.visitor_actor(link, visit)
                listing = link_scope.list_for_visitor(session, link, actor, item, clock=runtime.clock)
                body["items"] = [item_summary(child) for child in listing]
        return body

    try:
        return secure(JSONResponse(_in_link(runtime, request, token, work)))
    except errors.StrongroomError as exc:
        return error_json(exc)


@router.post("/s/{token}/api/password")
def api_password(token: str, body: PasswordBody, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        ok, mark, data, _ = _check_password(runtime, request, token, body.password)
        if not ok:
            raise errors.Unauthenticated("That password is not right.", step="password")
    except errors.StrongroomError as exc:
        return error_json(exc)
    response = secure(Response(status_code=204))
    write_visit_cookie(runtime, response, token, {**data, "p": mark})
    return response


@router.post("/s/{token}/api/code-request")
def api_code_request(token: str, body: EmailBody, request: Request) -> Response:
    """Mail a code if the address is a recipient; the answer is the same either way."""
    runtime = runtime_of(request)
    try:
        _send_code(runtime, request, token, body.email)
    except errors.StrongroomError as exc:
        return error_json(exc)
    return secure(
        JSONResponse({"message": "If this address may open the link, a code is on its way."}, status_code=202)
    )


@router.post("/s/{token}/api/code")
def api_code(token: str, body: CodeBody, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        data = _verify_code(runtime, request, token, body.email, body.code)
        if data is None:
            raise errors.Unauthenticated("That code is not right, or it has expired.", step="email")
    except errors.StrongroomError as exc:
        return error_json(exc)
    response = secure(Response(status_code=204))
    write_visit_cookie(runtime, response, token, data)
    return response
