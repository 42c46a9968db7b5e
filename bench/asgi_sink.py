"""The ceiling an ASGI server puts on an upload here: uvicorn (uvloop + httptools, as `strongroom
serve` runs it) with an app that only counts the body's bytes, beside nginx's plain PUT and
Strongroom's upload, alternated run by run (issue 14).

    .venv/bin/python bench/asgi_sink.py --size-gib 1 --runs 4 [--work /work/bench-sink]

Prints each server's median wall time and CPU-seconds per GB (utime + stime, all threads) and the
median of the per-run ratios to nginx (first run discarded). What the sink cannot do, no app on the
same server can: it neither hashes, encrypts nor writes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from common import (
    cpu_seconds,
    free_port,
    load_average,
    make_file,
    mbps,
    median,
    nginx_process,
    ratio_of_runs,
    strongroom_server,
    timed_transfer,
    wait_http,
)

_SINK_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(size).encode()})
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gib", type=float, default=1)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="asgi-sink-"))
    work.mkdir(parents=True, exist_ok=True)
    size = int(args.size_gib * 2**30)
    source = make_file(work / "source.bin", size)
    (work / "sink_app.py").write_text(_SINK_APP)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "sink_app:app", "--port", str(port), "--loop", "uvloop"]
    sink = subprocess.Popen(
        [*command, "--http", "httptools", "--log-level", "warning"],
        cwd=work,
    )
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        with nginx_process(work / "ngx") as nginx, strongroom_server(work / "sr") as server:
            auth = f"Authorization: Bearer {server.token}"
            targets = {
                "nginx": (nginx.cpu_seconds, [f"{nginx.url}/big.bin"]),
                "sink": (lambda: cpu_seconds(sink.pid), [f"http://127.0.0.1:{port}/big.bin"]),
                "strongroom": (
                    server.cpu_seconds,
                    ["-H", auth, f"{server.url}/api/v1/folders/root/files/big-RUN.bin"],
                ),
            }
            print(load_average())
            for run in range(args.runs):
                for name, (process_cpu, target) in targets.items():
                    seconds, per_gb = timed_transfer(
                        process_cpu,
                        size / 1e9,
                        "-T",
                        str(source),
                        *[a.replace("RUN", str(run)) for a in target],
                    )
                    wall.setdefault(name, []).append(seconds)
                    cpu.setdefault(name, []).append(per_gb)
            print(load_average())
    finally:
        sink.terminate()
        sink.wait()
    for name in ("nginx", "sink", "strongroom"):
        runs = ", ".join(f"{w:.2f} s/{c:.2f}" for w, c in zip(wall[name], cpu[name], strict=True))
        print(
            f"{name:10s} {mbps(size, median(wall[name][1:])):6.0f} MB/s, {median(cpu[name][1:]):.2f} CPU-s/GB,"
            f" ratio to nginx {ratio_of_runs(wall[name], wall['nginx']):.2f}x  (runs, wall/CPU-s per GB: {runs})"
        )


if __name__ == "__main__":
    main()
