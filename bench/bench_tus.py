"""tus upload vs plain PUT on the same `strongroom serve` (issue 6; goal: tus >= 0.9x PUT).

    .venv/bin/python bench/bench_tus.py [--size-gib 2] [--runs 3] [--chunk-mib 256]

Three ways to send the same file, alternated run by run, medians compared:
  put      curl -T file             PUT /api/v1/folders/root/files/<name>
  tus-1    curl -T file -X PATCH    one PATCH for the whole file (tus-js-client's default)
  tus-N    the CLI's tus client     PATCHes of --chunk-mib (httpx; what `strongroom upload` does)
Prints MB/s and the ratios to PUT. Needs curl.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import curl_seconds, make_file, mbps, median, strongroom_server

from strongroom.cli.client_transfers import ResumeStore, tus_upload


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def put_seconds(url: str, token: str, source: Path, name: str) -> float:
    return curl_seconds(
        "-T",
        str(source),
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "Expect:",
        f"{url}/api/v1/folders/root/files/{name}",
    )


def tus_single_seconds(url: str, token: str, source: Path, name: str) -> float:
    started = time.perf_counter()
    created = httpx.post(
        f"{url}/api/v1/uploads",
        headers={
            "Authorization": f"Bearer {token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(source.stat().st_size),
            "Upload-Metadata": f"filename {_b64(name)}",
        },
    )
    created.raise_for_status()
    curl_seconds(
        "-X",
        "PATCH",
        "-T",
        str(source),
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "Expect:",
        "-H",
        "Tus-Resumable: 1.0.0",
        "-H",
        "Upload-Offset: 0",
        "-H",
        "Content-Type: application/offset+octet-stream",
        url + created.headers["Location"],
    )
    return time.perf_counter() - started


def tus_chunked_seconds(url: str, token: str, source: Path, chunk: int, work: Path) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as http:
        tus_upload(
            http,
            source,
            folder_id="root",
            resume=ResumeStore(work / "resume.json"),
            progress=lambda _n: None,
            chunk_bytes=chunk,
        )
    return time.perf_counter() - started


def run(work: Path, size: int, runs: int, chunk: int) -> None:
    source = make_file(work / "big.bin", size)
    with strongroom_server(work / "sr") as server:
        times: dict[str, list[float]] = {"put": [], "tus-1": [], "tus-N": []}
        for n in range(runs):
            times["put"].append(put_seconds(server.url, server.token, source, f"put-{n}.bin"))
            times["tus-1"].append(tus_single_seconds(server.url, server.token, source, f"tus1-{n}.bin"))
            # Each tus-N run uploads a renamed copy, so the skip-by-name logic never applies.
            copy = source.with_name(f"tusn-{n}.bin")
            os.link(source, copy)  # a hard link: no copy on disk
            times["tus-N"].append(tus_chunked_seconds(server.url, server.token, copy, chunk, work))
            copy.unlink()
        put = median(times["put"])
        print(f"size {size / 2**20:.0f} MiB, {runs} runs, tus-N chunk {chunk / 2**20:.0f} MiB")
        for name, values in times.items():
            seconds = median(values)
            print(
                f"  {name:6s} median {seconds:6.2f} s  {mbps(size, seconds):7.1f} MB/s  "
                f"ratio to PUT {put / seconds:4.2f}x   runs: {', '.join(f'{v:.2f}' for v in values)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gib", type=float, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=256)
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch dir (default: a temp dir in /var/tmp)"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sr-bench-tus-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(work, int(args.size_gib * 2**30), args.runs, args.chunk_mib << 20)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
