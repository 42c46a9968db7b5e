"""`strongroom serve` on granian (`[server] engine = "granian"`), the Rust HTTP server, in-process.

uvicorn stays the default: its protocol carries the read deadlines of cli/http_guard.py (header
deadline and minimum body rate), where granian has only a header read timeout. See bench/README.md
("Hot paths, 2026-12-02") for the two measured side by side.
"""

import asyncio
import signal

from starlette.types import ASGIApp

from strongroom.config import ServerSettings


def run_granian(app: ASGIApp, server: ServerSettings) -> None:
    """Serve `app` until SIGINT or SIGTERM; one worker in this process, so the runtime is shared."""
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server.embed import Server

    del Loops  # the embedded server runs on the loop asyncio.run makes (uvloop's policy below)
    embedded = Server(
        app,
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
