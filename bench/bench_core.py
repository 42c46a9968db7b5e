"""Core benchmarks (issue 2): upload/download vs nginx, peak RSS, Range latency, listing pages.

    .venv/bin/python bench/bench_core.py [--size-gib 2] [--rss-gib 5] [--runs 3] [--items 100000]

Prints ratios measured side by side in one run (absolute MB/s drift between machines): the median of
per-run ratios with the first run discarded, and each server's CPU-seconds per GB (steadier than wall
time on a busy machine), with the load average.
Needs nginx (`apt-get install -y nginx-light`) and curl.
"""

from __future__ import annotations

import argparse
import base64
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    Server,
    curl_seconds,
    load_average,
    make_file,
    mbps,
    median,
    nginx_process,
    ratio_of_runs,
    strongroom_server,
    timed_transfer,
)


def tus_patch_args(server: Server, size: int, name: str) -> list[str]:
    """Create a tus upload (not timed: a few ms) and return the curl arguments of its one PATCH."""
    created = httpx.post(
        f"{server.url}/api/v1/uploads",
        headers={
            "Authorization": f"Bearer {server.token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(size),
            "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode(),
        },
    )
    created.raise_for_status()
    return [
        "-X",
        "PATCH",
        "-H",
        "Tus-Resumable: 1.0.0",
        "-H",
        "Upload-Offset: 0",
        "-H",
        "Content-Type: application/offset+octet-stream",
        server.url + created.headers["Location"],
    ]


DOORS = ("rest", "tus", "dav")


def transfer_ratio(
    work: Path, size: int, runs: int, doors: tuple[str, ...] = ("rest",), engine: str = "uvicorn"
) -> None:
    """Alternate Strongroom and nginx run by run, so both see the same machine; report the median of
    per-run wall-time ratios (first run discarded) and each server's CPU-seconds per GB moved.

    Doors: rest (PUT/GET /api/v1), tus (one PATCH of the whole file; downloads are REST's) and dav
    (PUT/GET /dav/), each timed against the nginx run just before it."""
    source = make_file(work / "source.bin", size)
    gigabytes = size / 1e9
    engine_env = {"STRONGROOM_SERVER__ENGINE": engine} if engine != "uvicorn" else {}
    with (
        strongroom_server(work / "sr", extra_env=engine_env) as server,
        nginx_process(work / "ngx") as nginx,
    ):
        auth = f"Authorization: Bearer {server.token}"
        wall: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}

        def timed(key: str, process_cpu: Callable[[], float], *curl_args: str) -> None:
            seconds, per_gb = timed_transfer(process_cpu, gigabytes, *curl_args)
            wall.setdefault(key, []).append(seconds)
            cpu.setdefault(key, []).append(per_gb)

        def upload_args(door: str, run: int) -> list[str]:
            if door == "rest":
                return ["-H", auth, f"{server.url}/api/v1/folders/root/files/big-{run}.bin"]
            if door == "tus":
                return ["-H", auth, *tus_patch_args(server, size, f"tus-{run}.bin")]
            return ["-H", auth, f"{server.url}/dav/dav-{run}.bin"]

        for run in range(runs):
            for door in doors:
                timed(f"put_ng_{door}", nginx.cpu_seconds, "-T", str(source), f"{nginx.url}/big-{run}.bin")
                timed(f"put_{door}", server.cpu_seconds, "-T", str(source), *upload_args(door, run))
        listing = httpx.get(
            f"{server.url}/api/v1/folders/root/items", headers={"Authorization": f"Bearer {server.token}"}
        )
        file_id = next(i["id"] for i in listing.json()["items"] if i["name"].startswith("big-"))
        download = {
            "rest": f"{server.url}/api/v1/files/{file_id}/content",
            "dav": f"{server.url}/dav/dav-0.bin",
        }
        for _ in range(runs):
            for door in [d for d in doors if d in download]:
                # Both files read once, untimed, so both are served from the page cache: Strongroom
                # drops a stored blob's pages once they are on the disk (local_writers.drop_behind),
                # nginx keeps its file cached.
                curl_seconds(f"{nginx.url}/big-0.bin")
                timed(f"get_ng_{door}", nginx.cpu_seconds, f"{nginx.url}/big-0.bin")
                curl_seconds("-H", auth, download[door])
                timed(f"get_{door}", server.cpu_seconds, "-H", auth, download[door])

        def cpu_of(key: str) -> float:
            values = cpu[key][1:] if len(cpu[key]) > 1 else cpu[key]
            return median(values)

        print(f"{engine}: {load_average()}")
        label = f"{size / 2**30:.1f} GiB"
        for door in doors:
            ours, theirs = f"put_{door}", f"put_ng_{door}"
            print(
                f"upload   {door:4s} {label}: strongroom {mbps(size, median(wall[ours])):7.0f} MB/s,"
                f" {cpu_of(ours):.2f} CPU-s/GB (hash+encrypt+fsync) | nginx {mbps(size, median(wall[theirs])):7.0f}"
                f" MB/s, {cpu_of(theirs):.2f} CPU-s/GB (plain, no fsync) | ratio {ratio_of_runs(wall[ours], wall[theirs]):.2f}x"
            )
        for key in sorted(wall):
            runs_shown = ", ".join(f"{w:.2f} s/{c:.2f}" for w, c in zip(wall[key], cpu[key], strict=True))
            print(f"  {key:12s} runs (wall/CPU-s per GB): {runs_shown}")
        for door in [d for d in doors if d in download]:
            ours, theirs = f"get_{door}", f"get_ng_{door}"
            print(
                f"download {door:4s} {label}: strongroom {mbps(size, median(wall[ours])):7.0f} MB/s,"
                f" {cpu_of(ours):.2f} CPU-s/GB (decrypt)              | nginx {mbps(size, median(wall[theirs])):7.0f}"
                f" MB/s, {cpu_of(theirs):.2f} CPU-s/GB (sendfile)        | ratio {ratio_of_runs(wall[ours], wall[theirs]):.2f}x"
            )
        range_latency(server.url, server.token, file_id, size, server_cpu=server.cpu_seconds)
    shutil.rmtree(work / "sr", ignore_errors=True)
    shutil.rmtree(work / "ngx", ignore_errors=True)


def range_latency(
    url: str,
    token: str,
    file_id: str,
    size: int,
    *,
    samples: int = 200,
    server_cpu: Callable[[], float] | None = None,
) -> None:
    """64 KiB Range reads at offsets spread over the whole file (seeded, so runs compare); with
    `server_cpu`, also the server's CPU per request (what a quiet machine's latency is made of)."""
    picks = random.Random(14)
    timings = []
    cpu_before = server_cpu() if server_cpu else 0.0
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(samples):
            start = picks.randrange(0, size - 65536)
            began = time.perf_counter()
            response = client.get(
                f"{url}/api/v1/files/{file_id}/content", headers={"Range": f"bytes={start}-{start + 65535}"}
            )
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 206 and len(response.content) == 65536
    cpu_ms = (server_cpu() - cpu_before) / samples * 1000 if server_cpu else float("nan")
    timings.sort()
    print(
        f"range read of 64 KiB anywhere in {size / 2**30:.1f} GiB: median {statistics.median(timings):.2f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms over {samples} requests (each one audited); "
        f"server CPU {cpu_ms:.2f} ms per request"
    )


def range_only(work: Path, size: int, samples: int) -> None:
    source = make_file(work / "source.bin", size)
    with strongroom_server(work / "range") as server:
        auth = f"Authorization: Bearer {server.token}"
        curl_seconds("-T", str(source), "-H", auth, f"{server.url}/api/v1/folders/root/files/big.bin")
        file_id = httpx.get(
            f"{server.url}/api/v1/folders/root/items", headers={"Authorization": f"Bearer {server.token}"}
        ).json()["items"][0]["id"]
        print(load_average())
        range_latency(server.url, server.token, file_id, size, samples=samples, server_cpu=server.cpu_seconds)
        print(load_average())
    shutil.rmtree(work / "range", ignore_errors=True)


def startup(work: Path, runs: int) -> None:
    """`strongroom serve` on a migrated data dir: wall time and the process's CPU to the first
    /healthz answer, and its RSS then (idle). Median of `runs` starts."""
    walls, cpus, rsss = [], [], []
    for run in range(runs):
        with strongroom_server(work / f"start-{run}") as server:
            walls.append(server.started_after)
            cpus.append(server.cpu_seconds())
            rsss.append(server.rss_mib())
        shutil.rmtree(work / f"start-{run}", ignore_errors=True)
    print(load_average())
    print(
        f"start-up to the first answer: median {statistics.median(walls):.2f} s wall, "
        f"{statistics.median(cpus):.2f} s CPU, idle RSS {statistics.median(rsss):.0f} MiB "
        f"(runs: {', '.join(f'{w:.2f}' for w in walls)} s)"
    )


def peak_rss(work: Path, size: int) -> None:
    source = make_file(work / "rss-source.bin", size)
    with strongroom_server(work / "rss") as server:
        auth = f"Authorization: Bearer {server.token}"
        idle = server.rss_mib()
        curl_seconds("-T", str(source), "-H", auth, f"{server.url}/api/v1/folders/root/files/huge.bin")
        after_upload = server.peak_rss_mib()
        file_id = httpx.get(
            f"{server.url}/api/v1/folders/root/items", headers={"Authorization": f"Bearer {server.token}"}
        ).json()["items"][0]["id"]
        curl_seconds("-H", auth, f"{server.url}/api/v1/files/{file_id}/content")
        print(
            f"peak RSS, {size / 2**30:.1f} GiB upload then download: idle {idle:.0f} MiB, "
            f"peak after upload {after_upload:.0f} MiB, peak after download {server.peak_rss_mib():.0f} MiB"
        )
    shutil.rmtree(work / "rss", ignore_errors=True)
    (work / "rss-source.bin").unlink(missing_ok=True)


def listing(work: Path, items: int, page: int) -> None:
    with strongroom_server(work / "list") as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        folder = httpx.post(
            f"{server.url}/api/v1/folders", json={"name": "huge", "parent_id": "root"}, headers=headers
        ).json()
        seed_folder(work / "list", folder["id"], items)
        timings = []
        marker = None
        count = 0
        with httpx.Client(headers=headers) as client:
            while True:
                params = {"limit": page, **({"marker": marker} if marker else {})}
                began = time.perf_counter()
                body = client.get(f"{server.url}/api/v1/folders/{folder['id']}/items", params=params).json()
                timings.append((time.perf_counter() - began) * 1000)
                count += len(body["items"])
                marker = body["next_marker"]
                if marker is None:
                    break
        assert count == items, count
        print(
            f"listing {items} items, {page} per page: {len(timings)} pages, median {statistics.median(timings):.1f} ms, "
            f"slowest {max(timings):.1f} ms, last page {timings[-1]:.1f} ms"
        )
    shutil.rmtree(work / "list", ignore_errors=True)


def seed_folder(data_dir: Path, folder_id: str, items: int) -> None:
    """Insert the items straight into the database: 100,000 HTTP uploads would measure uploads, not listing."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from strongroom.config import Settings
    from strongroom.content.models import Item
    from strongroom.content.names import name_key
    from strongroom.db.session import make_engine

    settings = Settings(dev_mode=True, data_dir=data_dir)
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        owner = conn.execute(select(Item.owner_id).where(Item.id == folder_id)).scalar_one()
        rows = []
        for n in range(items):
            name = f"exhibit-{n:07d}.jpg"
            rows.append(
                {
                    "id": f"fi_bench{n:012d}",
                    "kind": "file",
                    "sort_group": 1,
                    "parent_id": folder_id,
                    "owner_id": owner,
                    "name": name,
                    "name_key": name_key(name),
                    "created_at": now,
                    "updated_at": now,
                    "size": 0,
                    "revision": 1,
                    "classification": "OFFICIAL",
                }
            )
            if len(rows) == 10_000:
                conn.execute(insert(Item.__table__), rows)
                rows = []
        if rows:
            conn.execute(insert(Item.__table__), rows)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gib", type=float, default=2)
    parser.add_argument("--rss-gib", type=float, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--engines", default="uvicorn", help="comma-separated ASGI servers to measure: uvicorn, granian"
    )
    parser.add_argument("--range-samples", type=int, default=200)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch dir on the disk to measure (default: a temp dir)"
    )
    parser.add_argument("--only", choices=["transfer", "rss", "listing", "range", "startup"], default=None)
    parser.add_argument(
        "--doors", default="rest", help=f"comma-separated doors for transfer: {', '.join(DOORS)}"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sr-bench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.only in (None, "listing"):
            for page in (100, args.page):
                listing(work, args.items, page)
        if args.only in (None, "transfer"):
            doors = tuple(d for d in args.doors.split(",") if d)
            if not set(doors) <= set(DOORS):
                parser.error(f"--doors takes {', '.join(DOORS)}")
            for engine in args.engines.split(","):
                transfer_ratio(work, int(args.size_gib * 2**30), args.runs, doors, engine)
        if args.only == "startup":
            startup(work, args.runs)
        if args.only == "range":
            range_only(work, int(args.size_gib * 2**30), args.range_samples)
        if args.only in (None, "rss"):
            peak_rss(work, int(args.rss_gib * 2**30))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
