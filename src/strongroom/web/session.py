"""The session cookie: a random token (the key of a WebSession row) plus an HMAC with the runtime's
secret key, so forged or truncated cookies are rejected before any database lookup.

Cookies are HttpOnly and SameSite=Lax always, and Secure with the `__Host-` prefix when the public
URL is https (the prefix makes browsers refuse the cookie from any other path or subdomain).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.responses import Response

from strongroom.identity.sessions import SESSION_LIFETIME
from strongroom.runtime import Runtime

PLAIN_COOKIE = "sr_session"
SECURE_COOKIE = "__Host-sr_session"
_MAC_BYTES = 18


def is_secure(runtime: Runtime) -> bool:
    return runtime.settings.public_url.startswith("https://")


def cookie_name(runtime: Runtime) -> str:
    return SECURE_COOKIE if is_secure(runtime) else PLAIN_COOKIE


def sign(runtime: Runtime, purpose: str, value: str) -> str:
    """A short HMAC-SHA256 of `value` for one purpose (cookie, login form), URL-safe."""
    mac = hmac.new(runtime.secret_key.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:_MAC_BYTES]).decode().rstrip("=")


def cookie_value(runtime: Runtime, token: str) -> str:
    return f"{token}.{sign(runtime, 'session', token)}"


def token_from_cookie(runtime: Runtime, value: str | None) -> str | None:
    """The session token inside a cookie value, or None when the value was not made by us."""
    if not value or len(value) > 200:
        return None
    token, _, mac = value.rpartition(".")
    if not token or not hmac.compare_digest(mac, sign(runtime, "session", token)):
        return None
    return token


def set_session_cookie(response: Response, runtime: Runtime, token: str) -> None:
    response.set_cookie(
        cookie_name(runtime),
        cookie_value(runtime, token),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=is_secure(runtime),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, runtime: Runtime) -> None:
    response.delete_cookie(
        cookie_name(runtime), path="/", secure=is_secure(runtime), httponly=True, samesite="lax"
    )
