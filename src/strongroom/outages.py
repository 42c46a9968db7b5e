"""The last seam for outages: a database, disk or key provider failure anywhere becomes a clear answer.

Each door maps `StrongroomError` in its own table, and `db.session.transaction()` turns driver errors
into `DatabaseUnavailable` / `DatabaseFull`. What still escapes — a failure inside middleware (the web
session lookup), a pool timeout outside a transaction, a handler that let a driver error through —
reaches `OutageGuard`, the outermost middleware: instead of Starlette's text/plain 500 it answers 503
(or 507 for a full disk) with a stable code and `Retry-After`, as JSON for programs and as a small
HTML page for browsers. Every 503 leaving the app carries `Retry-After`, whichever door wrote it.
"""

from __future__ import annotations

import html
import json
import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom import errors
from strongroom.db.session import database_failure
from strongroom.problems import PROBLEM_JSON, problem

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = 5
"""What a 503 asks clients to wait: long enough for a database restart, short enough not to annoy."""

_STATUS: Final = {errors.StorageFull: 507, errors.Unavailable: 503}
_TITLES: Final = {
    503: "Sorry, the service is unavailable",
    507: "Sorry, there is no room to store this",
}


def outage_of(exc: BaseException) -> errors.StrongroomError | None:
    """The outage `exc` stands for (Unavailable, StorageFull or a translated driver error), else None."""
    if isinstance(exc, errors.Unavailable | errors.StorageFull):
        return exc
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return outage_of(exc.exceptions[0])
    if isinstance(exc, Exception):
        return database_failure(exc)
    return None


def status_of_outage(exc: errors.StrongroomError) -> int:
    return 507 if isinstance(exc, errors.StorageFull) else 503


def wants_html(scope: Scope) -> bool:
    """Browsers get a page; programs (REST, tus, WebDAV, scripts) get JSON."""
    path: str = scope.get("path", "")
    if path.startswith(("/api/", "/dav")):
        return False
    accept = ""
    for name, value in scope.get("headers", []):
        if name == b"accept":
            accept = value.decode("latin-1")
    return "text/html" in accept


def outage_response(
    exc: errors.StrongroomError, *, as_html: bool
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of the answer to an outage."""
    status = status_of_outage(exc)
    headers = [
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", b"default-src 'none'"),
    ]
    if as_html:
        title = html.escape(_TITLES[status])
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title} - Strongroom</title></head><body><main>"
            f"<h1>{title}</h1><p>{html.escape(exc.message)}</p>"
            "<p>Nothing you sent was lost or half-saved. Please try again in a few seconds.</p>"
            "</main></body></html>"
        ).encode()
        headers.append((b"content-type", b"text/html; charset=utf-8"))
    else:
        body = json.dumps(problem(status, exc.code, exc.message)).encode()
        headers.append((b"content-type", PROBLEM_JSON.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    return status, headers, body


class OutageGuard:
    """Outermost ASGI middleware: outages become 503/507 answers; every 503 gets Retry-After."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_retry_after(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] == 503 and not any(
                    name.lower() == b"retry-after" for name, _ in message.get("headers", [])
                ):
                    message = {
                        **message,
                        "headers": [
                            *message.get("headers", []),
                            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        ],
                    }
            await send(message)

        try:
            await self.app(scope, receive, send_with_retry_after)
        except Exception as exc:
            outage = outage_of(exc)
            if outage is None or started:
                # A bug (a real 500), or a failure mid-stream: the status line is gone, so all that is
                # left is to cut the body short, which clients see as an incomplete download.
                raise
            log.warning("answered %s to %s: %s", outage.code, scope.get("path"), outage.message)
            status, headers, body = outage_response(outage, as_html=wants_html(scope))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
