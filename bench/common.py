"""Helpers the benchmarks share: a real `strongroom serve` subprocess, nginx beside it, curl timings."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    token: str
    data_dir: Path

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def strongroom_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "STRONGROOM_DEV_MODE": "1", "STRONGROOM_DATA_DIR": str(data_dir)}


@contextmanager
def strongroom_server(data_dir: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    env = {**strongroom_env(data_dir), **(extra_env or {})}
    data_dir.mkdir(parents=True, exist_ok=True)
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom",
            "users",
            "create",
            f"bench{time.time_ns()}@bench.test",
            "--token",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "strongroom", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz")
        yield Server(url=url, proc=proc, token=token, data_dir=data_dir)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def nginx_server(root: Path) -> Iterator[str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is needed for the side-by-side benchmark: apt-get install -y nginx-light")
    port = free_port()
    conf_dir = root / "nginx"
    (conf_dir / "tmp").mkdir(parents=True, exist_ok=True)
    files = root / "files"
    files.mkdir(exist_ok=True)
    conf = conf_dir / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
user root root;
daemon off;
error_log {conf_dir}/error.log;
pid {conf_dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  sendfile on;
  client_body_temp_path {conf_dir}/tmp;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port};
    root {files};
    location / {{ dav_methods PUT; create_full_put_path on; }}
  }}
}}
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(conf_dir)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def curl_seconds(*args: str) -> float:
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{http_code}", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not out[1].startswith("2"):
        raise RuntimeError(f"curl {args} answered {out[1]}")
    return float(out[0])


def make_file(path: Path, size: int) -> Path:
    if path.exists() and path.stat().st_size == size:
        return path
    chunk = os.urandom(8 << 20)
    with path.open("wb") as handle:
        written = 0
        while written < size:
            part = chunk[: min(len(chunk), size - written)]
            handle.write(part)
            written += len(part)
    return path


def median(values: list[float]) -> float:
    return statistics.median(values)


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6
