"""Server CPU of one request, in process (issue 14): a 64 KiB Range GET and a folder page, driven straight
through the ASGI app on its own event loop (no sockets, no client), so the figure is the app's alone.

    .venv/bin/python bench/profile_requests.py [--runs 300] [--items 5000] [--profile range|page|page100]
    .venv/bin/python bench/profile_requests.py --only propfind --runs 12 --dav-items 10000 [--profile propfind]

`propfind` is a WebDAV PROPFIND Depth 1 (bench_webdav.py's body, or `--dav-body allprop`) of a folder of
`--dav-items` files.

Prints the median CPU ms per request (process_time, first tenth discarded) and the load average; with
`--profile`, a cProfile of that request kind sorted by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_listing import runtime_for, seed  # type: ignore[import-not-found]
from bench_webdav import PROPFIND_BODY  # type: ignore[import-not-found]
from fastapi.testclient import TestClient

from strongroom.actors import Actor
from strongroom.app import create_app
from strongroom.content import folders as content_folders
from strongroom.db.session import transaction
from strongroom.identity import tokens, users

ALLPROP_BODY = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'


async def call(
    app: Any,
    path: str,
    query: str,
    headers: list[tuple[bytes, bytes]],
    *,
    method: str = "GET",
    body: bytes = b"",
) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer is sent, as a real one does
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(
    app: Any, args: argparse.Namespace, auth: list[tuple[bytes, bytes]], *, file_id: str, root: str, size: int
) -> None:
    picks = random.Random(14)

    async def ranged() -> int:
        start = picks.randrange(0, size - 65536)
        hdrs = [*auth, (b"range", f"bytes={start}-{start + 65535}".encode())]
        return await call(app, f"/api/v1/files/{file_id}/content", "", hdrs)

    async def page(limit: int) -> int:
        return await call(app, f"/api/v1/folders/{root}/items", f"limit={limit}", auth)

    async def propfind() -> int:
        body = PROPFIND_BODY if args.dav_body == "prop" else ALLPROP_BODY
        return await call(
            app, "/dav/big/", "", [*auth, (b"depth", b"1")], method="PROPFIND", body=body.encode()
        )

    kinds = {"range": ranged, "page": lambda: page(1000), "page100": lambda: page(100), "propfind": propfind}
    for name, run in kinds.items():
        if name not in args.only:
            continue
        cpu = []
        for _ in range(args.runs):
            c = time.process_time()
            assert await run() in (200, 206, 207)
            cpu.append((time.process_time() - c) * 1000)
        print(
            f"{name:8}: median {statistics.median(cpu[args.runs // 10 :]):.2f} ms CPU per request "
            f"(least {min(cpu[args.runs // 10 :]):.2f}) "
            f"(load {os.getloadavg()[0]:.1f})"
        )
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not the fsync's wait
        profiler.enable()
        for _ in range(args.runs):
            await kinds[args.profile]()
        profiler.disable()
        stats = pstats.Stats(profiler)
        # A count that does not move with the machine's load: Python function calls per request.
        print(f"{args.profile}: {stats.total_calls / args.runs:.0f} function calls per request")  # type: ignore[attr-defined]
        if args.lines:
            stats.sort_stats(args.sort).print_stats(args.lines)


def inline_threads() -> None:
    """cProfile sees one thread: run the sync endpoints and stream batches inline while profiling."""
    import anyio.to_thread
    import fastapi.dependencies.utils
    import fastapi.routing
    import starlette.concurrency

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    for module in (starlette.concurrency, fastapi.routing, fastapi.dependencies.utils):
        if hasattr(module, "run_in_threadpool"):
            module.run_in_threadpool = inline  # type: ignore[attr-defined]
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--pg", help="PostgreSQL URL of an empty database")
    parser.add_argument("--profile", choices=["range", "page", "page100", "propfind"])
    parser.add_argument("--only", default="range,page,page100", help="request kinds, comma-separated")
    parser.add_argument("--dav-body", choices=["prop", "allprop"], default="prop", help="PROPFIND body")
    parser.add_argument("--dav-items", type=int, default=10_000, help="files in /dav/big/ (propfind)")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=70)
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        runtime = runtime_for(Path(tmp) / "data", args.pg)
        with transaction(runtime.sessions) as session:
            system = Actor.system(label="bench")
            user = users.create_user(session, system, email="bench@force.police.test", clock=runtime.clock)
            root = content_folders.create_root_folder(session, user, clock=runtime.clock).id
            _, token = tokens.issue_token(
                session, system, user=user, name="b", expires_at=None, clock=runtime.clock
            )
            owner = user.id
        seed(runtime, root, owner, args.items)
        if "propfind" in args.only or args.profile == "propfind":
            with transaction(runtime.sessions) as session:
                big = content_folders.create_folder(
                    session, Actor.system(label="bench"), parent_id=root, name="big", clock=runtime.clock
                ).id
            seed(runtime, big, owner, args.dav_items, id_prefix="fi_dav")
        app = create_app(runtime)
        size = args.size_mib << 20
        auth = [(b"authorization", f"Bearer {token}".encode()), (b"host", b"127.0.0.1")]
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            r = client.put(f"/api/v1/folders/{root}/files/big.bin", content=os.urandom(size))
            assert r.status_code in (200, 201), r.text
            file_id = r.json()["id"]
        if args.profile:
            inline_threads()
        asyncio.run(measure(app, args, auth, file_id=file_id, root=root, size=size))
        runtime.close()


if __name__ == "__main__":
    main()
