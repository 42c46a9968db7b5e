"""PROPFIND Depth 1 of a 10,000-item folder (issue 14): `strongroom serve` from one or more source trees
on ONE data directory, and `rclone serve webdav`, the same curl command alternating, so before and after
are measured in the same minutes. The folder is seeded with bulk inserts (seconds, not bench_webdav.py's
10,000 copies); the data directory is kept and reused when it exists.

    .venv/bin/python bench/propfind_side_by_side.py DATA_DIR [--items 10000] [--runs 9] \\
        --tree after=src --tree before=/tmp/dav_before/src

Prints per server the median wall time and the median CPU time of the server process per PROPFIND (first
run discarded), and the load average.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_webdav import PROPFIND_BODY, RCLONE_PIDS, rclone_server
from common import cpu_seconds, curl_seconds, free_port, strongroom_env, wait_http

SEED = """
import sys; sys.path.insert(0, {bench!r})
from bench_listing import seed
from strongroom.actors import Origin
from strongroom.cli.common import load_settings, open_runtime
from strongroom.content import folders
from strongroom.db.session import transaction
from strongroom.identity import tokens
from strongroom.identity.models import User
runtime = open_runtime(load_settings(None))
with transaction(runtime.sessions) as session:
    actor = tokens.authenticate_token(session, {token!r}, origin=Origin(), clock=runtime.clock)
    user = session.get(User, actor.user_id)
    big = folders.create_folder(session, actor, parent_id=user.root_folder_id, name="big", clock=runtime.clock).id
seed(runtime, big, user.id, {items}, id_prefix="fi_pf")
"""


def prepare(data: Path, src: str, items: int) -> str:
    env = {**strongroom_env(data), "PYTHONPATH": src}
    if not (data / "token").exists():
        data.mkdir(parents=True, exist_ok=True)
        run = [sys.executable, "-m", "strongroom"]
        subprocess.run([*run, "db", "upgrade"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [*run, "users", "create", "pf@bench.test", "--token"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        bench = str(Path(__file__).resolve().parent)
        subprocess.run(
            [sys.executable, "-c", SEED.format(bench=bench, token=token, items=items)], env=env, check=True
        )
        (data / "token").write_text(token)
    plain = data.parent / f"{data.name}-rclone" / "big"
    if not plain.exists():
        plain.mkdir(parents=True)
        for n in range(items):
            (plain / f"exhibit-{n:07d}.jpg").write_bytes(b"x")
    return (data / "token").read_text()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tree", action="append", required=True, help="label=path of a src directory")
    args = parser.parse_args()
    trees = dict(tree.split("=", 1) for tree in args.tree)
    token = prepare(args.data, next(iter(trees.values())), args.items)
    servers = {}
    for label, src in trees.items():
        port = free_port()
        env = {**strongroom_env(args.data), "PYTHONPATH": src}
        serve = [sys.executable, "-m", "strongroom", "serve", "--port", str(port)]
        servers[label] = (
            subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            port,
        )
    ask = ["-X", "PROPFIND", "-H", "Depth: 1", "-H", "Content-Type: application/xml", "--data", PROPFIND_BODY]
    try:
        for _, port in servers.values():
            wait_http(f"http://127.0.0.1:{port}/healthz")
        with rclone_server(args.data.parent / f"{args.data.name}-rclone") as rclone:
            targets = {
                **{label: (proc.pid, ["-u", f":{token}", f"http://127.0.0.1:{port}/dav/big/"])
                   for label, (proc, port) in servers.items()},
                "rclone": (RCLONE_PIDS[rclone], [f"{rclone}/big/"]),
            }  # fmt: skip
            wall: dict[str, list[float]] = {label: [] for label in targets}
            cpu: dict[str, list[float]] = {label: [] for label in targets}
            for run in range(args.runs + 1):
                for label, (pid, target) in targets.items():
                    before = cpu_seconds(pid)
                    seconds = curl_seconds(*ask, *target)
                    if run:  # the first run warms caches up
                        wall[label].append(seconds)
                        cpu[label].append(cpu_seconds(pid) - before)
            for label in targets:
                print(
                    f"{label:8} PROPFIND Depth 1, {args.items} items: median {statistics.median(wall[label]) * 1000:5.0f} ms"
                    f" wall, {statistics.median(cpu[label]) * 1000:5.0f} ms server CPU"
                )
            print("load average %.1f %.1f %.1f" % os.getloadavg())  # noqa: UP031
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
