"""`strongroom serve` on granian (`[server] engine = "granian"`), the Rust HTTP server, in-process.

uvicorn stays the default: its protocol carries the read deadlines of cli/http_guard.py (header
deadline and minimum body rate), where granian has only a header read timeout. See bench/README.md
("Hot paths, 2026-12-02") for the two measured side by side.
"""

import asyncio
import signal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.config import ServerSettings


def bytes_bodies(app: ASGIApp) -> ASGIApp:
    """Hand granian response bodies as `bytes`. The app sends decrypted memoryviews (no copy on
    uvicorn), but granian 2.8 takes a memoryview as a generic sequence: measured, 256 MiB of 1 MiB
    views cost 10 s of CPU against 0.65 s as bytes. One copy is by far the cheaper way."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_bytes(message: Message) -> None:
            body = message.get("body")
            if body is not None and not isinstance(body, bytes):
                message = {**message, "body": bytes(body)}
            await send(message)

        await app(scope, receive, send_bytes)

    return wrapped


def run_granian(app: ASGIApp, server: ServerSettings) -> None:
    """Serve `app` until SIGINT or SIGTERM; one worker in this process, so the runtime is shared."""
    try:
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings
        from granian.log import LogLevels
        from granian.server.embed import Server
    except ImportError as exc:
        msg = 'engine = "granian" needs granian: pip install "strongroom[granian]"'
        raise SystemExit(msg) from exc

    embedded = Server(
        bytes_bodies(app),
        address=server.host,
        port=server.port,
        interface=Interfaces.ASGI,
        http1_settings=HTTP1Settings(header_read_timeout=int(server.header_timeout_seconds * 1000)),
        log_level=LogLevels.warning,
        websockets=False,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, embedded.stop)
        await embedded.serve()

    import uvloop

    uvloop.run(main())
