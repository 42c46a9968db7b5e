"""What every WebDAV method handler gets: the runtime, the actor, the path, the If header."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from strongroom.actors import Actor
from strongroom.dav.locks import Preconditions
from strongroom.db.session import transaction
from strongroom.numbers import require_count
from strongroom.runtime import Runtime

T = TypeVar("T")
MAX_SMALL_BODY = 1024 * 1024


class DavStatus(Exception):
    """A protocol answer that has no domain error: 405 on an existing collection, 409 for a missing
    parent, 412 for Overwrite: F, 415 for a MKCOL body, 502 for a foreign Destination..."""

    def __init__(self, status: int, message: str, *, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body


@dataclass
class DavContext:
    runtime: Runtime
    request: Request
    actor: Actor
    mount: str  # where the door is mounted, e.g. "/dav"
    segments: tuple[str, ...]
    pre: Preconditions
    reason: str | None = None  # the stated reason for reading classified material (app.stated_reason)

    async def in_transaction(self, work: "Callable[..., T]") -> T:
        """Run `work(session)` in one durable transaction on a worker thread."""

        def run() -> T:
            with transaction(self.runtime.sessions) as session:
                return work(session)

        return await run_in_threadpool(run)

    async def small_body(self) -> bytes:
        """A request body that must be small (XML); refuses anything over 1 MiB with 413."""
        raw_length = self.request.headers.get("content-length")
        declared = None if raw_length is None else require_count(raw_length, field="Content-Length")
        if declared is not None and declared > MAX_SMALL_BODY:
            raise DavStatus(413, "XML bodies are limited to 1 MiB.")
        body = bytearray()
        async for chunk in self.request.stream():
            body += chunk
            if len(body) > MAX_SMALL_BODY:
                raise DavStatus(413, "XML bodies are limited to 1 MiB.")
        return bytes(body)

    def header(self, name: str) -> str | None:
        values = self.request.headers.getlist(name)
        return ", ".join(values) if values else None
