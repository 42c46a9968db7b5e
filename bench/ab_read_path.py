"""A/B of the decrypting read path alone (no server, no sockets): CPU-seconds per GB of a whole read
and CPU milliseconds per 64 KiB Range read, this tree against another, alternating (issue 14).

    .venv/bin/python bench/ab_read_path.py --before-src /tmp/old/src [--mib 512] [--rounds 5]

One blob is sealed once (by this tree); each round runs one child process per tree that reads it
whole `--reads` times and makes `--ranges` ranged reads at random offsets, and prints the CPU time
of that process (one thread: the reads run where a server's worker thread runs them). On a busy
machine the per-round after/before ratio is the figure; the absolute ones move with the load.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = r"""
import json, random, sys, time
from pathlib import Path
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import WrappedKey
from strongroom.storage.sealed_blobs import read_plaintext

root, blob = Path(sys.argv[1]), json.loads(sys.argv[2])
reads, ranges = int(sys.argv[3]), int(sys.argv[4])
store, keys = LocalBlobStore(root / "blobs"), FileKeyProvider.open(root / "keys.json")
args = dict(store=store, keys=keys, blob_key=blob["key"], wrapped_dek=WrappedKey(blob["kek"], bytes.fromhex(blob["dek"])),
            aad_id=b"ab", plaintext_size=blob["size"])
for chunk in read_plaintext(**args):  # warm the page cache and the imports
    pass
t = time.process_time()
for _ in range(reads):
    for chunk in read_plaintext(**args):
        del chunk
whole = (time.process_time() - t) / (reads * blob["size"] / 1e9)
rng = random.Random(1)
t = time.process_time()
for _ in range(ranges):
    start = rng.randrange(blob["size"] - 65536)
    for chunk in read_plaintext(**args, start=start, end_inclusive=start + 65535):
        del chunk
per_range = (time.process_time() - t) / ranges * 1e3
print(json.dumps({"whole": whole, "range_ms": per_range}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before-src", type=Path, required=True)
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reads", type=int, default=2)
    parser.add_argument("--ranges", type=int, default=300)
    args = parser.parse_args()
    sys.path.insert(0, str(SRC))
    from strongroom.storage.blob_backends.local import LocalBlobStore
    from strongroom.storage.key_providers.file import FileKeyProvider
    from strongroom.storage.sealed_blobs import SealedBlobWriter

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keys = FileKeyProvider.open(root / "keys.json")
        writer = SealedBlobWriter(store=LocalBlobStore(root / "blobs"), keys=keys, aad_id=b"ab")
        piece = os.urandom(1 << 20)
        for _ in range(args.mib):
            writer.write(piece)
        sealed = writer.finish()
        dek = sealed.wrapped_dek
        blob = json.dumps(
            {"key": sealed.blob_key, "size": sealed.size, "kek": dek.kek_id, "dek": dek.ciphertext.hex()}
        )
        results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for round_ in range(args.rounds):
            for name, src in (("before", args.before_src), ("after", SRC)):
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, tmp, blob, str(args.reads), str(args.ranges)],
                    env={**os.environ, "PYTHONPATH": str(src)},
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                results[name].append(json.loads(out))
                print(round_, name, out.strip(), "load", os.getloadavg()[0], flush=True)
        for figure in ("whole", "range_ms"):
            ratios = [a[figure] / b[figure] for a, b in zip(results["after"], results["before"], strict=True)]
            print(
                f"{figure}: before median {statistics.median(r[figure] for r in results['before']):.3f}, "
                f"after median {statistics.median(r[figure] for r in results['after']):.3f}, "
                f"after/before per round median {statistics.median(ratios):.2f} ({', '.join(f'{x:.2f}' for x in ratios)})"
            )


if __name__ == "__main__":
    main()
