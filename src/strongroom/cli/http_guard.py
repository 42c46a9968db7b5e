"""Read deadlines for `strongroom serve`: clients that trickle bytes cannot hold connections open.

uvicorn has a keep-alive timeout between requests, but none while a request is arriving: a client
sending one header byte a second, or a body at a few bytes a second, keeps a socket (and a worker's
memory) forever. This protocol adds, like Apache's mod_reqtimeout:

* a header deadline: the request line and headers must be complete within `header_timeout` of the
  connection opening or of the request's first byte;
* a body rate: while the server is ready to read (not paused because the app is busy, not waiting to
  send `100 Continue`), every `body_window` seconds at least `body_min_rate` bytes a second on average
  must have arrived.

A connection that breaks either is closed; the app sees the client go away (`http.disconnect`) and
keeps what arrived, as it does for a dropped connection.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from strongroom.config import ServerSettings


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: ClassVar[float] = 20.0
    body_window: ClassVar[float] = 30.0
    body_min_rate: ClassVar[int] = 500

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard: asyncio.TimerHandle | None = None
        self._body_bytes = 0
        self._app_behind = False  # reading was paused this window because the app had not caught up

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows it too
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._guard is None:  # the next request on a kept-alive connection starts its own deadline
            self._arm(self.header_timeout, self._headers_too_slow)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        # A request without a body completes in the same parse, and disarms this at once.
        self._body_bytes, self._app_behind = 0, False
        self._arm(self.body_window, self._check_body_rate)

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)
        self._app_behind = self._app_behind or self.flow.read_paused  # uvicorn pauses only here

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._guard = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _headers_too_slow(self) -> None:
        self._guard = None
        if not self.transport.is_closing():
            self.transport.close()

    def _check_body_rate(self) -> None:
        self._guard = None
        # cycle is None until the first request's headers are parsed, whatever uvicorn's hint says.
        expecting_continue = bool(getattr(self.cycle, "waiting_for_100_continue", False))
        waiting_for_app = self._app_behind or self.flow.read_paused or expecting_continue
        if not waiting_for_app and self._body_bytes < self.body_min_rate * self.body_window:
            if not self.transport.is_closing():
                self.transport.close()
            return
        self._body_bytes, self._app_behind = 0, False
        self._arm(self.body_window, self._check_body_rate)


def guarded_protocol(server: ServerSettings) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with this server's deadlines (uvicorn builds one instance per connection)."""
    return type(
        "GuardedHttpTools",
        (GuardedHttpToolsProtocol,),
        {
            "header_timeout": server.header_timeout_seconds,
            "body_window": server.body_timeout_seconds,
            "body_min_rate": server.body_min_rate_bytes,
        },
    )
