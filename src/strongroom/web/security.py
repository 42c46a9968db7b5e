"""One ASGI middleware for the browser door: who the session cookie belongs to, CSRF for cookie-
authenticated API calls, and the security headers every response carries.

It is pure ASGI (not BaseHTTPMiddleware) so request and response bodies stream through untouched:
a 100 GB upload or download never passes through a buffer here.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import anyio
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.api.deps import bearer_token, origin_of
from strongroom.db.session import transaction
from strongroom.identity import sessions
from strongroom.problems import PROBLEM_JSON, problem
from strongroom.runtime import Runtime
from strongroom.web.csrf import HEADER, UNSAFE_METHODS, CsrfFailed, tokens_match
from strongroom.web.session import cookie_name, is_secure, token_from_cookie

CSP = "; ".join(  # noqa: FLY002 - one directive per line is easier to review
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
"""No inline script or style anywhere; nothing may frame us; nothing is loaded from elsewhere."""

BASE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# Paths whose unsafe requests must carry X-CSRF-Token when the session cookie authenticates them.
# HTML form posts elsewhere check their hidden field in the page handler instead.
HEADER_CSRF_PREFIXES = ("/api/", "/dav", "/settings/mfa/keys")  # the last: script-only, no form field


class WebSecurityMiddleware:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.secure = is_secure(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path: str = scope["path"]
        state: dict[str, Any] = scope.setdefault("state", {})
        if not path.startswith("/static/"):
            await self._attach_session(request, state)
        if self._csrf_refused(request, state, path):
            response = JSONResponse(
                problem(
                    403, CsrfFailed.code, "Send the X-CSRF-Token header of your session with this request."
                ),
                status_code=403,
                media_type=PROBLEM_JSON,
            )
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    async def _attach_session(self, request: Request, state: dict[str, Any]) -> None:
        token = token_from_cookie(self.runtime, self._cookie(request))
        if token is None:
            return
        origin = origin_of(request)

        def lookup() -> sessions.SignedIn | None:
            with transaction(self.runtime.sessions) as session:
                return sessions.resume(
                    session,
                    cookie_token=token,
                    origin=origin,
                    clock=self.runtime.clock,
                    policy=sessions.SessionPolicy.of(self.runtime.settings.accounts),
                )

        signed_in = await anyio.to_thread.run_sync(lookup)
        if signed_in is None:
            return
        state["session_actor"] = signed_in.actor
        state["web_user"] = signed_in.user
        state["web_session_id"] = signed_in.session_id
        state["csrf_token"] = signed_in.csrf_token

    def _cookie(self, request: Request) -> str | None:
        name = cookie_name(self.runtime)
        value = request.cookies.get(name)
        if value is None and "cookie" in request.headers:
            # Starlette drops cookies whose values it cannot parse; try the strict parser as well.
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(request.headers["cookie"])
            morsel = parsed.get(name)
            value = morsel.value if morsel else None
        return value

    def _csrf_refused(self, request: Request, state: dict[str, Any], path: str) -> bool:
        if request.method not in UNSAFE_METHODS or "session_actor" not in state:
            return False
        if bearer_token(request) is not None:
            return False  # the API authenticates the token, not the cookie
        given = request.headers.get(HEADER)
        if given is not None:
            return not tokens_match(state.get("csrf_token"), given)
        return path.startswith(HEADER_CSRF_PREFIXES)

    def _with_headers(self, send: Send) -> Send:
        secure = self.secure

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS.items():
                    headers.setdefault(name, value)
                # Content responses set their own, stricter policy (sandbox); keep it.
                headers.setdefault("Content-Security-Policy", CSP)
                if secure:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        return send_with_headers
