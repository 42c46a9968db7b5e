"""Streaming zips (issue 15): a folder's zip vs downloading its files one by one, CPU and memory.

    .venv/bin/python bench/bench_zip.py [--size-gib 1] [--files 4] [--runs 3]

Uploads `--files` random files totalling `--size-gib` into one folder, then alternates, run by run:
every file downloaded on its own, and the folder as one zip. Prints each way's server CPU-seconds per
GB (median, first run discarded), the zip's wall time against the files' (median of per-run ratios),
and the server's peak RSS before and after the zips (a streamed zip keeps memory flat).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import curl_seconds, load_average, make_file, median, ratio_of_runs, strongroom_server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-gib", type=float, default=1)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = int(args.size_gib * 2**30)
    each = size // args.files
    gigabytes = each * args.files / 1e9
    work = Path(tempfile.mkdtemp(prefix="bench-zip-"))
    try:
        source = make_file(work / "source.bin", each)
        with strongroom_server(work / "sr") as server:
            auth = {"Authorization": f"Bearer {server.token}"}
            with httpx.Client(base_url=server.url, headers=auth, timeout=600) as http:
                folder = http.post("/api/v1/folders", json={"name": "bench", "parent_id": "root"}).json()[
                    "id"
                ]
                ids = []
                for n in range(args.files):
                    with source.open("rb") as body:
                        r = http.put(f"/api/v1/folders/{folder}/files/part-{n}.bin", content=body)
                    r.raise_for_status()
                    ids.append(r.json()["id"])
            header = f"Authorization: Bearer {server.token}"
            rss_before = server.peak_rss_mib()
            files_s, zip_s, files_cpu, zip_cpu = [], [], [], []
            for _ in range(args.runs):
                before = server.cpu_seconds()
                files_s.append(
                    sum(curl_seconds("-H", header, f"{server.url}/api/v1/files/{i}/content") for i in ids)
                )
                files_cpu.append((server.cpu_seconds() - before) / gigabytes)
                before = server.cpu_seconds()
                zip_s.append(curl_seconds("-H", header, f"{server.url}/api/v1/folders/{folder}/zip"))
                zip_cpu.append((server.cpu_seconds() - before) / gigabytes)
            rss_after = server.peak_rss_mib()
        print(f"{args.files} files, {gigabytes:.2f} GB in all, {args.runs} runs; {load_average()}")
        print(f"files one by one: {median(files_cpu[1:] or files_cpu):.2f} server CPU-s/GB")
        print(f"one zip:          {median(zip_cpu[1:] or zip_cpu):.2f} server CPU-s/GB")
        print(f"zip wall time / files' wall time: {1 / ratio_of_runs(zip_s, files_s):.2f}")
        print(f"server peak RSS: {rss_before:.0f} MiB before the zips, {rss_after:.0f} MiB after")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
