"""Core benchmarks (issue 2): upload/download vs nginx, peak RSS, Range latency, listing pages.

    .venv/bin/python bench/bench_core.py [--size-gib 2] [--rss-gib 5] [--runs 3] [--items 100000]

Prints ratios measured side by side in one run (absolute MB/s drift between machines): the median of
per-run ratios with the first run discarded, and each server's CPU-seconds per GB (steadier than wall
time on a busy machine), with the load average.
Needs nginx (`apt-get install -y nginx-light`) and curl.
"""

from __future__ import annotations

import argparse
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
    curl_seconds,
    load_average,
    make_file,
    mbps,
    median,
    nginx_process,
    ratio_of_runs,
    strongroom_server,
)


def transfer_ratio(work: Path, size: int, runs: int) -> None:
    """Alternate Strongroom and nginx run by run, so both see the same machine; report the median of
    per-run wall-time ratios (first run discarded) and each server's CPU-seconds per GB moved."""
    source = make_file(work / "source.bin", size)
    gigabytes = size / 1e9
    with strongroom_server(work / "sr") as server, nginx_process(work / "ngx") as nginx:
        auth = f"Authorization: Bearer {server.token}"
        put_sr, put_ng, get_sr, get_ng = [], [], [], []
        cpu: dict[str, list[float]] = {"put_sr": [], "put_ng": [], "get_sr": [], "get_ng": []}

        def timed(key: str, process_cpu: Callable[[], float], *curl_args: str) -> float:
            before = process_cpu()
            seconds = curl_seconds(*curl_args)
            cpu[key].append((process_cpu() - before) / gigabytes)
            return seconds

        for run in range(runs):
            put_ng.append(timed("put_ng", nginx.cpu_seconds, "-T", str(source), f"{nginx.url}/big-{run}.bin"))
            put_sr.append(
                timed(
                    "put_sr",
                    server.cpu_seconds,
                    "-T",
                    str(source),
                    "-H",
                    auth,
                    f"{server.url}/api/v1/folders/root/files/big.bin",
                )
            )
        listing = httpx.get(
            f"{server.url}/api/v1/folders/root/items", headers={"Authorization": f"Bearer {server.token}"}
        )
        file_id = listing.json()["items"][0]["id"]
        for _ in range(runs):
            get_ng.append(timed("get_ng", nginx.cpu_seconds, f"{nginx.url}/big-0.bin"))
            get_sr.append(
                timed(
                    "get_sr", server.cpu_seconds, "-H", auth, f"{server.url}/api/v1/files/{file_id}/content"
                )
            )

        def cpu_of(key: str) -> float:
            values = cpu[key][1:] if len(cpu[key]) > 1 else cpu[key]
            return median(values)

        print(load_average())
        print(
            f"upload   {size / 2**30:.1f} GiB: strongroom {mbps(size, median(put_sr)):7.0f} MB/s,"
            f" {cpu_of('put_sr'):.2f} CPU-s/GB (hash+encrypt+fsync) | nginx {mbps(size, median(put_ng)):7.0f} MB/s,"
            f" {cpu_of('put_ng'):.2f} CPU-s/GB (plain, no fsync) | ratio {ratio_of_runs(put_sr, put_ng):.2f}x"
        )
        print(
            f"download {size / 2**30:.1f} GiB: strongroom {mbps(size, median(get_sr)):7.0f} MB/s,"
            f" {cpu_of('get_sr'):.2f} CPU-s/GB (decrypt)              | nginx {mbps(size, median(get_ng)):7.0f} MB/s,"
            f" {cpu_of('get_ng'):.2f} CPU-s/GB (sendfile)        | ratio {ratio_of_runs(get_sr, get_ng):.2f}x"
        )
        range_latency(server.url, server.token, file_id, size)
    shutil.rmtree(work / "sr", ignore_errors=True)
    shutil.rmtree(work / "ngx", ignore_errors=True)


def range_latency(url: str, token: str, file_id: str, size: int, samples: int = 200) -> None:
    offset = int(size * 0.9)
    timings = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
        for i in range(samples):
            start = offset + (i * 4099) % (1 << 20)
            began = time.perf_counter()
            response = client.get(
                f"{url}/api/v1/files/{file_id}/content", headers={"Range": f"bytes={start}-{start + 65535}"}
            )
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 206 and len(response.content) == 65536
    timings.sort()
    print(
        f"range read of 64 KiB at 90% of {size / 2**30:.1f} GiB: median {statistics.median(timings):.2f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms over {samples} requests (each one audited)"
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
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch dir on the disk to measure (default: a temp dir)"
    )
    parser.add_argument("--only", choices=["transfer", "rss", "listing"], default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sr-bench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.only in (None, "listing"):
            for page in (100, args.page):
                listing(work, args.items, page)
        if args.only in (None, "transfer"):
            transfer_ratio(work, int(args.size_gib * 2**30), args.runs)
        if args.only in (None, "rss"):
            peak_rss(work, int(args.rss_gib * 2**30))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
