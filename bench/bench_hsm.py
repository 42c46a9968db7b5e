"""Keys in SoftHSM2 beside the key file: unwraps per second, upload and download through a live server
as a ratio to the key file (goal >= 0.95x), and the time to rotate the KEK over many versions.

    .venv/bin/python bench/bench_hsm.py --size-mib 1024 --runs 4 --versions 20000

Each run alternates the two servers so both see the same machine; ratios are medians of per-run
ratios with the first run discarded. Needs softhsm2 (apt).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import curl_seconds, load_average, make_file, mbps, median, ratio_of_runs, strongroom_server

from strongroom.storage.key_providers import pkcs11_uri
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.key_providers.pkcs11 import Pkcs11KeyProvider
from strongroom.storage.keys import KeyProvider, new_data_key

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "12345678"


def softhsm_token(root: Path) -> str:
    (root / "tokens").mkdir(parents=True)
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--so-pin", "87654321", "--pin", PIN],
        check=True,
        capture_output=True,
    )
    return f"pkcs11:token=bench;object=kek?module-path={MODULE}"


def unwraps_per_second(provider: KeyProvider, count: int) -> float:
    wrapped = [provider.wrap_data_key(new_data_key(), context=f"b{n}".encode()) for n in range(count)]
    start = time.perf_counter()
    for n, key in enumerate(wrapped):
        provider.unwrap_data_key(key, context=f"b{n}".encode())
    return count / (time.perf_counter() - start)


def transfers(work: Path, url: str, size: int, runs: int) -> None:
    source = make_file(work / "source.bin", size)
    hsm_env = {"STRONGROOM_KEYS__URL": url, "STRONGROOM_KEYS__PIN": PIN}
    with strongroom_server(work / "file") as plain, strongroom_server(work / "hsm", extra_env=hsm_env) as hsm:
        times: dict[str, list[float]] = {"put_file": [], "put_hsm": [], "get_file": [], "get_hsm": []}
        ids: dict[str, str] = {}
        for run in range(runs):
            for name, server in (("file", plain), ("hsm", hsm)):
                auth = f"Authorization: Bearer {server.token}"
                target = f"{server.url}/api/v1/folders/root/files/big-{run}.bin"
                times[f"put_{name}"].append(curl_seconds("-T", str(source), "-H", auth, target))
                listing = httpx.get(
                    f"{server.url}/api/v1/folders/root/items",
                    headers={"Authorization": f"Bearer {server.token}"},
                )
                ids[name] = listing.json()["items"][0]["id"]
        for _ in range(runs):
            for name, server in (("file", plain), ("hsm", hsm)):
                auth = f"Authorization: Bearer {server.token}"
                content = f"{server.url}/api/v1/files/{ids[name]}/content"
                times[f"get_{name}"].append(curl_seconds("-H", auth, content))
    for way in ("put", "get"):
        hsm_times, file_times = times[f"{way}_hsm"], times[f"{way}_file"]
        print(
            f"{'upload  ' if way == 'put' else 'download'} {size / 2**20:.0f} MiB: key file "
            f"{mbps(size, median(file_times)):6.0f} MB/s, SoftHSM2 {mbps(size, median(hsm_times)):6.0f} MB/s, "
            f"SoftHSM2 / key file {ratio_of_runs(hsm_times, file_times):.3f}x"
        )


def rotation(url: str, versions: int) -> None:
    """Re-wrap `versions` data keys (unwrap with the old KEK, wrap with the new), as `keys rotate` does
    per row, without the database: the HSM's share of a rotation."""
    provider = Pkcs11KeyProvider.open(pkcs11_uri.parse(url, pin=PIN))
    wrapped = [provider.wrap_data_key(new_data_key(), context=f"v{n}".encode()) for n in range(versions)]
    provider.add_kek()
    start = time.perf_counter()
    for n, key in enumerate(wrapped):
        context = f"v{n}".encode()
        provider.wrap_data_key(provider.unwrap_data_key(key, context=context), context=context)
    seconds = time.perf_counter() - start
    print(
        f"rotation: {versions} data keys re-wrapped in the HSM in {seconds:.1f} s "
        f"({versions / seconds:.0f}/s; 1,000,000 would take {1_000_000 / versions * seconds / 60:.1f} min of HSM time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--unwraps", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hsm-") as tmp:
        work = Path(tmp)
        url = softhsm_token(work / "softhsm")
        print(load_average())
        hsm = Pkcs11KeyProvider.open(pkcs11_uri.parse(url, pin=PIN))
        key_file = FileKeyProvider.open(work / "keys.json")
        print(
            f"unwraps/s: SoftHSM2 {unwraps_per_second(hsm, args.unwraps):.0f}, "
            f"key file {unwraps_per_second(key_file, args.unwraps):.0f}"
        )
        hsm.close()
        rotation(url, args.versions)
        transfers(work, url, args.size_mib * 2**20, args.runs)
        print(load_average())


if __name__ == "__main__":
    main()
