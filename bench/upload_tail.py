"""How long an upload's answer waits after its last byte was sent (issue 14), two servers in turn.

    .venv/bin/python bench/upload_tail.py --before-src /tmp/old/src --runs 4 --size-gib 1

A REST PUT from a plain socket: the whole body goes out with sendfile, then the clock runs until the
answer's first bytes. That tail is the last segment's seal, the blob's fsync (the write-out of every
byte still dirty in the page cache), the directory fsyncs and the commit: what an early write-out
shortens. Wall time on a busy machine swings; the tail is mostly the disk's, so it swings less.
Prints per run: whole wall, tail, server CPU-s/GB; then the medians (first run discarded).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Server, load_average, make_file, strongroom_server


def put(server: Server, source: Path, name: str) -> tuple[float, float, bytes]:
    """(whole wall seconds, seconds from the last byte sent to the answer, the status line)."""
    where = urlsplit(server.url)
    size = source.stat().st_size
    head = (
        f"PUT /api/v1/folders/root/files/{name} HTTP/1.1\r\nHost: {where.netloc}\r\n"
        f"Authorization: Bearer {server.token}\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    with (
        socket.create_connection((where.hostname, where.port)) as sock,
        source.open("rb") as body,
    ):
        start = time.monotonic()
        sock.sendall(head)
        sent = 0
        while sent < size:
            sent += os.sendfile(sock.fileno(), body.fileno(), sent, size - sent)
        last_byte = time.monotonic()
        answer = sock.recv(4096)
        done = time.monotonic()
    return done - start, done - last_byte, answer.split(b"\r\n", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gib", type=float, default=1)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--before-src", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/work/bench-transfer"))
    args = parser.parse_args()
    size = int(args.size_gib * 2**30)
    args.work.mkdir(parents=True, exist_ok=True)
    source = make_file(args.work / "source.bin", size)
    gb = size / 1e9
    print(load_average())
    figures: dict[str, list[tuple[float, float, float]]] = {"before": [], "after": []}
    with contextlib.ExitStack() as stack:
        old = {"PYTHONPATH": str(args.before_src)}
        servers = {
            "before": stack.enter_context(strongroom_server(args.work / "tail-before", extra_env=old)),
            "after": stack.enter_context(strongroom_server(args.work / "tail-after")),
        }
        for run in range(args.runs):
            for name, server in servers.items():
                os.sync()  # every run starts with no one's dirty pages waiting
                cpu = server.cpu_seconds()
                wall, tail, status = put(server, source, f"tail-{run}.bin")
                per_gb = (server.cpu_seconds() - cpu) / gb
                figures[name].append((wall, tail, per_gb))
                print(
                    f"{name} run {run}: {gb / wall * 1000:.0f} MB/s, tail {tail:.2f} s, "
                    f"{per_gb:.2f} CPU-s/GB, {status.decode()} [{load_average()}]"
                )
    print(load_average())
    for name, rows in figures.items():
        kept = rows[1:] or rows
        print(
            f"{name}: median wall {statistics.median(r[0] for r in kept):.2f} s, "
            f"tail {statistics.median(r[1] for r in kept):.2f} s, "
            f"{statistics.median(r[2] for r in kept):.2f} CPU-s/GB"
        )
    for name in ("tail-before", "tail-after"):
        with contextlib.suppress(OSError):
            os.system(f"rm -rf {args.work / name}")


if __name__ == "__main__":
    main()
