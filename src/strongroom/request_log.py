"""Request ids and structured logs: every request gets an id (the client's `X-Request-Id` when it is a
sane token, else a fresh one), echoed in the response, stamped on every log line written while the
request runs, and one access-log line per request when `[server] access_log` is on.

Log lines are JSON objects (one per line) so a collector can search by request id, status or path
without parsing free text; `[server] log_format = "text"` keeps plain lines for a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.client_address import client_ip, parse_networks

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
HEADER: Final = b"x-request-id"
_SANE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SECRET_IN_PATH: Final = re.compile(r"^/(s|r)/[^/]+")
"""Shared links (/s/<token>) and upload requests (/r/<token>) carry their secret in the path: whoever
reads the access log must not be able to open them."""
access_log = logging.getLogger("strongroom.access")


class RequestIdMiddleware:
    """Pure ASGI, outermost: sees every answer, outage answers included, and times the whole request."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: Iterable[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(HEADER, b"").decode("latin-1")
        # A client's id is kept only if it cannot smuggle anything into logs or headers.
        request_id = given if _SANE.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0
        sent = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*kept, (HEADER, request_id.encode())]}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                self._log_access(scope, headers, status, sent, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _log_access(
        self, scope: Scope, headers: dict[bytes, bytes], status: int, sent: int, took: float
    ) -> None:
        peer = scope.get("client")
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        client = client_ip(peer[0] if peer else None, forwarded, self.trusted) if self.trusted else None
        http = {
            "method": scope["method"],
            "path": _SECRET_IN_PATH.sub(r"/\1/<token>", scope["path"]),
            "status": status,  # 0: the connection ended before an answer started
            "bytes_sent": sent,
            "duration_ms": round(took * 1000, 1),
            "client": client or (peer[0] if peer else None),
            "user_agent": headers.get(b"user-agent", b"").decode("latin-1")[:256],
        }
        extra = {"http": http, "request_id": REQUEST_ID.get()}
        access_log.info("%s %s %s", http["method"], http["path"], status, extra=extra)


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on a record when it is made (in the request's own context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        http = getattr(record, "http", None)
        if http is not None:
            entry["http"] = http
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(*, log_format: str, access: bool) -> None:
    """The process's log output: one handler on stderr, warnings and up, access lines when asked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    access_log.setLevel(logging.INFO if access else logging.WARNING)
