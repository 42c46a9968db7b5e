"""Start-up and idle memory of `strongroom serve` (issue 14), optionally side by side with another tree.

    .venv/bin/python bench/bench_startup.py [--runs 7] [--compare /path/to/other/src] [--compare-env K=V ...]

Each run starts `strongroom serve` on a migrated data dir and reports: wall time and the process's
CPU seconds to the first /healthz answer, its RSS then (idle), and its RSS and CPU after a few
everyday requests (API listing and profile, a staff page, a WebDAV PROPFIND).
With --compare, runs alternate between this tree and the other `src` (put first on PYTHONPATH, same
virtual environment); medians drop the first run of each. --compare-env sets an environment variable on the
compared server instead (e.g. --compare-env MALLOC_ARENA_MAX=2 with no --compare: same tree, A/B).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Server, load_average, strongroom_server


def everyday_requests(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=120) as client:
        client.get("/api/v1/me").raise_for_status()
        client.get("/api/v1/folders/root/items").raise_for_status()
        client.get("/login").raise_for_status()
        client.request("PROPFIND", "/dav/", headers={"Depth": "1"}).raise_for_status()


def one_run(work: Path, env: dict[str, str]) -> tuple[float, float, float, float, float]:
    with strongroom_server(work, extra_env=env) as server:
        wall, cpu, idle = server.started_after, server.cpu_seconds(), server.rss_mib()
        everyday_requests(server)
        busy_cpu, busy = server.cpu_seconds(), server.rss_mib()
    shutil.rmtree(work, ignore_errors=True)
    return wall, cpu, idle, busy_cpu, busy


def summary(name: str, rows: list[tuple[float, float, float, float, float]]) -> str:
    kept = rows[1:] if len(rows) > 1 else rows  # the first run warms the page cache
    med = [statistics.median(column) for column in zip(*kept, strict=True)]
    return (
        f"{name}: first answer {med[0]:.2f} s wall, {med[1]:.2f} s CPU, idle RSS {med[2]:.0f} MiB; "
        f"after the everyday requests {med[3]:.2f} s CPU, RSS {med[4]:.0f} MiB "
        f"(CPU per run: {', '.join(f'{row[1]:.2f}' for row in rows)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--compare", type=Path, help="another tree's src directory, run alternately")
    parser.add_argument("--compare-env", action="append", default=[], help="K=V for the compared server")
    args = parser.parse_args()
    other: dict[str, str] | None = None
    if args.compare or args.compare_env:
        other = dict(pair.split("=", 1) for pair in args.compare_env)
        if args.compare:
            other["PYTHONPATH"] = str(args.compare.resolve())
    print(load_average())
    work = Path(tempfile.mkdtemp(prefix="strongroom-startup-"))
    this: list[tuple[float, float, float, float, float]] = []
    compared: list[tuple[float, float, float, float, float]] = []
    for run in range(args.runs):
        this.append(one_run(work / f"this-{run}", {}))
        if other is not None:
            compared.append(one_run(work / f"other-{run}", other))
    print(load_average())
    print(summary("this tree", this))
    if other is not None:
        print(summary(f"compared ({' '.join(f'{k}={v}' for k, v in other.items())})", compared))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
