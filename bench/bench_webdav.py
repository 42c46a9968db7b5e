"""WebDAV benchmark (issue 6): 1 GiB PUT and GET through /dav/ vs `rclone serve webdav`, and PROPFIND
Depth 1 on a 10,000-item folder, both servers on this machine, the same curl commands alternating.

    .venv/bin/python bench/bench_webdav.py [--size-mib 1024] [--runs 3] [--items 10000]

Strongroom hashes, encrypts and fsyncs every upload and decrypts every download; rclone serve writes
and reads plain files. Ratios are rclone time / Strongroom time: above 1 means Strongroom is faster.
Needs curl and rclone (`apt-get install -y rclone`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    cpu_seconds,
    curl_seconds,
    free_port,
    make_file,
    mbps,
    median,
    strongroom_env,
    strongroom_server,
    wait_http,
)

PROPFIND_BODY = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/>'
    "<D:getlastmodified/><D:getetag/><D:displayname/></D:prop></D:propfind>"
)


RCLONE_PIDS: dict[str, int] = {}  # url -> pid, for the servers' CPU time side by side


@contextmanager
def rclone_server(root: Path) -> Iterator[str]:
    if shutil.which("rclone") is None:
        raise SystemExit("rclone is needed for the side-by-side benchmark: apt-get install -y rclone")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["rclone", "--config", "/dev/null", "serve", "webdav", "--addr", f"127.0.0.1:{port}", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    RCLONE_PIDS[url] = proc.pid
    try:
        wait_http(url + "/")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def evict(directory: Path) -> None:
    """Let every file under `directory` leave the page cache (both servers' stored bytes)."""
    os.sync()
    for path in directory.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def transfer(work: Path, size: int, runs: int, cache: str) -> None:
    source = make_file(work / "source.bin", size)
    with strongroom_server(work / "sr") as server, rclone_server(work / "rc") as rclone:
        auth = ["-u", f":{server.token}"]
        put_sr, put_rc, get_sr, get_rc = [], [], [], []
        # os.sync() before each timed transfer: rclone does not fsync, and its bytes' write-back
        # must not land in the next transfer's time (Strongroom's own fsync is in its PUT's time).
        for run in range(runs):
            os.sync()
            put_rc.append(curl_seconds("-T", str(source), f"{rclone}/big-{run}.bin"))
            os.sync()
            put_sr.append(curl_seconds(*auth, "-T", str(source), f"{server.url}/dav/big-{run}.bin"))
        for run in range(runs):
            rc_url, sr_url = f"{rclone}/big-{run}.bin", f"{server.url}/dav/big-{run}.bin"
            # as-left: each server's file as its PUT left it (rclone's in the page cache, Strongroom's
            # dropped once on the disk); warm: both read once first; cold: both evicted first.
            if cache == "warm":
                curl_seconds(rc_url)
                curl_seconds(*auth, sr_url)
            elif cache == "cold":
                evict(work / "rc")
                evict(work / "sr")
            os.sync()
            get_rc.append(curl_seconds(rc_url))
            if cache == "cold":
                evict(work / "rc")
                evict(work / "sr")
            os.sync()
            get_sr.append(curl_seconds(*auth, sr_url))
        label = f"{size / 2**20:.0f} MiB, {cache}"
        print(
            f"WebDAV PUT {label}: strongroom {mbps(size, median(put_sr)):6.0f} MB/s (hash+encrypt+fsync) | "
            f"rclone serve {mbps(size, median(put_rc)):6.0f} MB/s | ratio {median(put_rc) / median(put_sr):.2f}x"
        )
        print(
            f"WebDAV GET {label}: strongroom {mbps(size, median(get_sr)):6.0f} MB/s (decrypt)             | "
            f"rclone serve {mbps(size, median(get_rc)):6.0f} MB/s | ratio {median(get_rc) / median(get_sr):.2f}x"
        )
    shutil.rmtree(work / "sr", ignore_errors=True)
    shutil.rmtree(work / "rc", ignore_errors=True)


def fill_folder(data_dir: Path, token: str, items: int) -> None:
    """Copies of one uploaded file, made in-process through the content services (shared blob), so
    setting up 10,000 files takes seconds rather than 10,000 uploads."""
    script = f"""
from strongroom.cli.common import load_settings, open_runtime
from strongroom.content import files, folders
from strongroom.content.uploads import find_live_child
from strongroom.db.session import transaction
from strongroom.identity import tokens
from strongroom.actors import Origin
from strongroom.identity.models import User
runtime = open_runtime(load_settings(None))
with transaction(runtime.sessions) as session:
    actor = tokens.authenticate_token(session, {token!r}, origin=Origin(), clock=runtime.clock)
    root = session.get(User, actor.user_id).root_folder_id
    big = find_live_child(session, root, "big")
    seed = find_live_child(session, big.id, "seed.txt")
    for n in range({items} - 1):
        files.copy_item(session, actor, item_id=seed.id, target_folder_id=big.id,
                        new_name=f"item-{{n:05d}}.txt", clock=runtime.clock)
"""
    subprocess.run([sys.executable, "-c", script], env=strongroom_env(data_dir), check=True)


def propfind(work: Path, items: int, runs: int) -> None:
    # rclone serve caches directory listings: the folder must exist before it starts.
    big = work / "pf-rc" / "big"
    big.mkdir(parents=True)
    for n in range(items):
        (big / f"item-{n:05d}.txt").write_bytes(b"x")
    with strongroom_server(work / "pf-sr") as server, rclone_server(work / "pf-rc") as rclone:
        auth = ["-u", f":{server.token}"]
        subprocess.run(["curl", "-sS", "-f", *auth, "-X", "MKCOL", f"{server.url}/dav/big/"], check=True)
        subprocess.run(
            ["curl", "-sS", "-f", *auth, "-T", "-", f"{server.url}/dav/big/seed.txt"], input=b"x", check=True
        )
        fill_folder(server.data_dir, server.token, items)
        common = [
            "-X",
            "PROPFIND",
            "-H",
            "Depth: 1",
            "-H",
            "Content-Type: application/xml",
            "--data",
            PROPFIND_BODY,
        ]
        sr, rc, sr_cpu, rc_cpu = [], [], [], []
        for _ in range(runs):
            before = cpu_seconds(RCLONE_PIDS[rclone])
            rc.append(curl_seconds(*common, f"{rclone}/big/"))
            rc_cpu.append(cpu_seconds(RCLONE_PIDS[rclone]) - before)
            before = server.cpu_seconds()
            sr.append(curl_seconds(*auth, *common, f"{server.url}/dav/big/"))
            sr_cpu.append(server.cpu_seconds() - before)
        count = subprocess.run(
            ["curl", "-sS", *auth, *common, f"{server.url}/dav/big/"], check=True, capture_output=True
        ).stdout.count(b"<D:response>")
        print(
            f"PROPFIND Depth 1, {items} items ({count - 1} listed): strongroom {median(sr) * 1000:6.0f} ms | "
            f"rclone serve {median(rc) * 1000:6.0f} ms | ratio {median(rc) / median(sr):.2f}x | "
            f"server peak RSS {server.peak_rss_mib():.0f} MiB"
        )
        # Wall time follows the machine's load; each server's own CPU time per PROPFIND is steadier.
        print(
            f"PROPFIND Depth 1 server CPU: strongroom {median(sr_cpu[1:] or sr_cpu) * 1000:6.0f} ms | "
            f"rclone serve {median(rc_cpu[1:] or rc_cpu) * 1000:6.0f} ms | "
            f"ratio {median(rc_cpu[1:] or rc_cpu) / median(sr_cpu[1:] or sr_cpu):.2f}x (load {os.getloadavg()[0]:.1f})"
        )
    shutil.rmtree(work / "pf-sr", ignore_errors=True)
    shutil.rmtree(work / "pf-rc", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024, help="0 skips the PUT/GET comparison")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument(
        "--cache",
        choices=["as-left", "warm", "cold"],
        default="as-left",
        help="where each GET's bytes are: as the PUT left them, in the page cache, or on the disk only",
    )
    parser.add_argument("--no-propfind", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-webdav-") as tmp:
        work = Path(tmp)
        if args.size_mib:
            transfer(work, args.size_mib << 20, args.runs, args.cache)
        if not args.no_propfind:
            propfind(work, args.items, args.runs)


if __name__ == "__main__":
    main()
