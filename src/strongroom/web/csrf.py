"""CSRF protection for the browser door.

Signed-in requests carry the session's own CSRF token: forms in a hidden `csrf_token` field, scripts
in the `X-CSRF-Token` header (read from `<meta name="csrf-token">`). The sign-in form has no session
yet, so its token is an HMAC of a random nonce kept in a short-lived cookie (double submit).
Bearer-token API calls never need a CSRF token: a cross-site page cannot make a browser send one.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

from strongroom.errors import NotAllowed
from strongroom.runtime import Runtime
from strongroom.web.session import is_secure, sign

HEADER = "x-csrf-token"
FIELD = "csrf_token"
LOGIN_NONCE_COOKIE = "sr_login_nonce"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfFailed(NotAllowed):
    code = "csrf_failed"


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def require_form_token(request: Request, given: str | None) -> None:
    """Raise CsrfFailed unless a form post carries the signed-in session's token."""
    expected = getattr(request.state, "csrf_token", None)
    if not tokens_match(expected, given):
        raise CsrfFailed(
            "This form has expired or did not come from Strongroom. Reload the page and try again."
        )


def login_token(runtime: Runtime, request: Request, response: Response) -> str:
    """The sign-in form's token; sets the nonce cookie when the browser has none yet."""
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
    if not nonce or len(nonce) > 100:
        nonce = secrets.token_urlsafe(32)
        response.set_cookie(
            LOGIN_NONCE_COOKIE,
            nonce,
            max_age=3600,
            path="/",
            secure=is_secure(runtime),
            httponly=True,
            samesite="strict",
        )
    return sign(runtime, "login", nonce)


def require_login_token(runtime: Runtime, request: Request, given: str | None) -> None:
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
    if not nonce or not tokens_match(sign(runtime, "login", nonce), given):
        raise CsrfFailed("The sign-in form has expired. Reload the page and sign in again.")
