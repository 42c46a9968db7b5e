"""The common ground of the public shared-link door (`/s/<token>`): security headers, the external
page layout and its assets, error answers, the signed visit cookie, and `in_link`, which every link
route runs its work through (so revocation, expiry, guessing and classification are checked the same
way everywhere).

Tokens are never logged or put in audit details (the link's id is). Every response here carries
`Referrer-Policy: no-referrer` and `X-Robots-Tag: noindex`, so tokens do not leak to other sites
or search engines. What the visitor has proved is kept in a signed cookie scoped to the link's path;
every request re-reads the link, so revocation and expiry act at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from strongroom import errors
from strongroom.actors import Actor
from strongroom.api.deps import authenticate, bearer_token, origin_of
from strongroom.api.errors import problem_response, status_of
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.sharing import link_scope, link_visits, shared_links
from strongroom.sharing.link_visits import Visit
from strongroom.sharing.models import SharedLink
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
    # The staff document viewer and pdf.js, for documents on a link's page (external/document.js).
    "document.js": (STATIC / "external" / "document.js", "text/javascript"),
    "pdf-viewer.js": (STATIC / "js" / "pdf-viewer.js", "text/javascript"),
    "pdf.min.mjs": (STATIC / "vendor" / "pdfjs" / "pdf.min.mjs", "text/javascript"),
    "pdf.worker.min.mjs": (STATIC / "vendor" / "pdfjs" / "pdf.worker.min.mjs", "text/javascript"),
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


def password_mark(link: SharedLink) -> str:
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
        password_ok=link.password_hash is not None and data.get("p") == password_mark(link),
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


def in_link(
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
            link = link_visits.find_link(
                session, token, origin=origin, settings=runtime.settings.sharing, clock=runtime.clock
            )
            if link is not None:
                link_visits.ensure_live_now(session, link, clock=runtime.clock)
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
