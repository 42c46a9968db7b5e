"""Micro-benchmark: SealedBlobWriter (hash + seal + durable write) and read_plaintext.

Writes a blob (default 512 MiB, 1 MiB segments, 256 KiB write() calls) to a temp dir, reads it
back, and for comparison in the same run times raw hashlib.sha256 and raw AES-GCM over the same
data. Absolute MB/s drift between machines; compare the ratios (PERFORMANCE.md).

    .venv/bin/python bench/bench_sealed_blobs.py [--mib 512] [--runs 3] [--dir /tmp]
"""

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.sealed_blobs import SealedBlob, SealedBlobWriter, read_plaintext

SEGMENT = 1 << 20
CHUNK = 256 << 10


def _mbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


def _median(label: str, nbytes: int, runs: int, fn: Callable[[], object]) -> float:
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        rates.append(_mbps(nbytes, time.perf_counter() - t0))
    rate = statistics.median(rates)
    print(f"{label:<44} {rate:8.0f} MB/s   (runs: {', '.join(f'{r:.0f}' for r in rates)})")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    total = args.mib << 20
    # Incompressible data; the chunks are reused so the benchmark measures us, not os.urandom.
    pool = [os.urandom(CHUNK) for _ in range(64)]
    nchunks = total // CHUNK

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        store = LocalBlobStore(root / "blobs")
        keys = FileKeyProvider.open(root / "keys.json")
        aad = b"bench-version-id"
        written: list[SealedBlob] = []

        def hash_only() -> None:
            h = hashlib.sha256()
            for i in range(nchunks):
                h.update(pool[i % len(pool)])

        def hash_and_seal_no_io() -> None:
            h = hashlib.sha256()
            aead = AESGCM(os.urandom(32))
            seg = bytearray(SEGMENT)
            out = bytearray(SEGMENT + 16)
            per_seg = SEGMENT // CHUNK
            for i in range(nchunks):
                c = pool[i % len(pool)]
                h.update(c)
                j = (i % per_seg) * CHUNK
                seg[j : j + CHUNK] = c
                if i % per_seg == per_seg - 1:
                    aead.encrypt_into(os.urandom(12), seg, b"", out)

        def write_blob() -> None:
            # Keep one blob: piling up dirty pages would make later runs measure writeback.
            while written:
                store.delete(written.pop().blob_key)
            writer = SealedBlobWriter(store=store, keys=keys, aad_id=aad, segment_size=SEGMENT)
            for i in range(nchunks):
                writer.write(pool[i % len(pool)])
            written.append(writer.finish())

        def read_blob() -> None:
            blob = written[-1]
            for _ in read_plaintext(
                store=store,
                keys=keys,
                blob_key=blob.blob_key,
                wrapped_dek=blob.wrapped_dek,
                aad_id=aad,
                plaintext_size=blob.size,
            ):
                pass

        print(
            f"{args.mib} MiB, {SEGMENT >> 10} KiB segments, {CHUNK >> 10} KiB write() calls, "
            f"median of {args.runs}"
        )
        sha = _median("hashlib.sha256 only (ceiling)", total, args.runs, hash_only)
        _median("sha256 + AES-GCM seal, no I/O", total, args.runs, hash_and_seal_no_io)
        up = _median("SealedBlobWriter (hash+seal+write+fsync)", total, args.runs, write_blob)
        down = _median("read_plaintext (read+decrypt)", total, args.runs, read_blob)
        print(f"write / sha256 ratio: {up / sha:.2f}; read / sha256 ratio: {down / sha:.2f}")
        check = hashlib.sha256()
        for i in range(nchunks):
            check.update(pool[i % len(pool)])
        assert written[-1].sha256 == check.digest(), "digest mismatch"


if __name__ == "__main__":
    main()
