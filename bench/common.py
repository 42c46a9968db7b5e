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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, timeout: float = 120, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(poll)
    raise RuntimeError(f"{url} did not answer")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    token: str
    data_dir: Path
    started_after: float = 0.0  # seconds from Popen to the first /healthz answer

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

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
    # `users create` runs before the server, so the schema is made first (serve would do it later).
    subprocess.run(
        [sys.executable, "-m", "strongroom", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
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
    launched = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "strongroom", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", poll=0.02)
        started_after = time.perf_counter() - launched
        yield Server(url=url, proc=proc, token=token, data_dir=data_dir, started_after=started_after)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Nginx:
    url: str
    proc: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """The master and its worker together: the worker does the transfers."""
        return cpu_seconds(self.proc.pid) + sum(cpu_seconds(pid) for pid in child_pids(self.proc.pid))


@contextmanager
def nginx_process(root: Path) -> Iterator[Nginx]:
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
        yield Nginx(url=url, proc=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def nginx_server(root: Path) -> Iterator[str]:
    with nginx_process(root) as nginx:
        yield nginx.url


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


def timed_transfer(
    process_cpu: Callable[[], float], gigabytes: float, *curl_args: str
) -> tuple[float, float]:
    """One curl transfer: its wall seconds and the server's CPU-seconds per GB (`process_cpu` read
    before and after). It starts with no dirty page cache: nginx and rclone do not fsync, so without
    the sync the run after theirs would pay for writing their bytes back as well as its own."""
    os.sync()
    before = process_cpu()
    wall = curl_seconds(*curl_args)
    return wall, (process_cpu() - before) / gigabytes


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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads together (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(child) for child in text)
    return children


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def ratio_of_runs(ours: list[float], theirs: list[float]) -> float:
    """Median of per-run ratios (their time / our time), the first run discarded as warm-up."""
    ratios = [t / o for o, t in zip(ours, theirs, strict=True)]
    return statistics.median(ratios[1:] if len(ratios) > 1 else ratios)


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6
