"""One upload or download at a time against a real `strongroom serve`, for profilers (issue 14).

    .venv/bin/python bench/profile_transfer.py --doors rest,tus --runs 3 [--download rest]
    .venv/bin/python bench/profile_transfer.py --before-src /tmp/old/src [--strace | --perf | --py-spy]

Prints each transfer's server CPU-seconds per GB (utime + stime, all threads) and how they split
between the server's threads (named by `py-spy dump`). With --before-src, a second server runs
that source (PYTHONPATH in front) and the two take turns, transfer by transfer: the medians of the
per-run after/before ratios (first run discarded) compare them in the same minutes. With --strace,
--perf or --py-spy, the last run of each transfer is recorded (`strace -c -f`, `perf record -g`,
`py-spy record --threads`) into a file per door and server under --work.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx
from bench_core import tus_patch_args
from common import CLOCK_TICKS, Server, curl_seconds, load_average, make_file, strongroom_server


def thread_names(pid: int) -> dict[str, str]:
    """OS thread id -> Python thread name, from `py-spy dump` (Python 3.11 names no OS thread)."""
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        return {}  # `pip install py-spy` into the venv to name them
    dump = subprocess.run(
        [str(py_spy), "dump", "--pid", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {
        tid: name.rstrip("0123456789_") for tid, name in re.findall(r'Thread (\d+) \(\w+\): "(.*)"', dump)
    }


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU-seconds of each of the server's threads, by OS thread id."""
    by_tid: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        by_tid[task.name] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return by_tid


def _threads_line(pid: int, before: dict[str, float], after: dict[str, float], gb: float) -> str:
    names = thread_names(pid)
    moved: dict[str, float] = {}
    for tid, seconds in after.items():
        name = names.get(tid, "other")
        moved[name] = moved.get(name, 0.0) + (seconds - before.get(tid, 0.0)) / gb
    return ", ".join(
        f"{name} {value:.2f}" for name, value in sorted(moved.items(), key=lambda kv: -kv[1]) if value >= 0.01
    )


def _attach(kind: str, pid: int, out: Path) -> subprocess.Popen[bytes]:
    if kind == "perf":
        command = ["perf", "record", "-g", "-F", "499", "-o", str(out), "-p", str(pid)]
    elif kind == "strace":
        command = ["strace", "-c", "-f", "-o", str(out), "-p", str(pid)]
    else:
        py_spy = Path(sys.executable).parent / "py-spy"
        command = [
            str(py_spy),
            "record",
            "--threads",
            "--idle",
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            "-p",
            str(pid),
        ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # let it attach before the transfer starts
    return proc


def _detach(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)


def _upload_args(server: Server, door: str, run: int, size: int) -> list[str]:
    auth = f"Authorization: Bearer {server.token}"
    if door == "rest":
        return ["-H", auth, f"{server.url}/api/v1/folders/root/files/p-{run}.bin"]
    if door == "tus":
        return ["-H", auth, *tus_patch_args(server, size, f"t-{run}.bin")]
    return ["-H", auth, f"{server.url}/dav/d-{run}.bin"]


def _download_args(server: Server, door: str) -> list[str]:
    auth = f"Authorization: Bearer {server.token}"
    if door == "dav":
        return ["-H", auth, f"{server.url}/dav/d-0.bin"]
    listing = httpx.get(
        f"{server.url}/api/v1/folders/root/items", headers={"Authorization": f"Bearer {server.token}"}
    )
    file_id = next(i["id"] for i in listing.json()["items"] if i["name"] == "p-0.bin")
    if door == "link":  # a shared link's download, as a visitor with no account fetches it
        created = httpx.post(
            f"{server.url}/api/v1/items/{file_id}/shared-links",
            json={},
            headers={"Authorization": f"Bearer {server.token}"},
        )
        created.raise_for_status()
        token = created.json()["url"].rsplit("/s/", 1)[1]
        return [f"{server.url}/s/{token}/content/{file_id}"]
    return ["-H", auth, f"{server.url}/api/v1/files/{file_id}/content"]


def _timed(
    server: Server, label: str, curl: list[str], gb: float, *, tool: str | None, trace_to: Path
) -> float:
    traced = _attach(tool, server.proc.pid, trace_to) if tool else None
    before, threads = server.cpu_seconds(), thread_cpu(server.proc.pid)
    wall = curl_seconds(*curl)
    cpu = (server.cpu_seconds() - before) / gb
    threads_line = _threads_line(server.proc.pid, threads, thread_cpu(server.proc.pid), gb)
    if traced:
        _detach(traced)
    print(
        f"{label}: {gb / wall * 1e3:.0f} MB/s, {cpu:.2f} CPU-s/GB ({threads_line}) [{load_average()}]",
        flush=True,
    )
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gib", type=float, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--doors", default="rest,tus")
    parser.add_argument(
        "--download", default="", help="doors to GET from (rest, dav, link), --runs times each"
    )
    parser.add_argument(
        "--before-src", type=Path, default=None, help="a second server from this src, run alternately"
    )
    parser.add_argument("--strace", action="store_true")
    parser.add_argument("--perf", action="store_true")
    parser.add_argument("--py-spy", dest="py_spy", action="store_true")
    parser.add_argument("--work", type=Path, default=Path("/work/bench-transfer"))
    args = parser.parse_args()
    size = int(args.size_gib * 2**30)
    source = make_file(args.work / "source.bin", size)
    gb = size / 1e9
    tool = "perf" if args.perf else "strace" if args.strace else "py-spy" if args.py_spy else None
    print(load_average())
    with contextlib.ExitStack() as stack:
        servers = {"after": stack.enter_context(strongroom_server(args.work / "sr-after"))}
        if args.before_src is not None:
            old = {"PYTHONPATH": str(args.before_src)}
            servers = {
                "before": stack.enter_context(strongroom_server(args.work / "sr-before", extra_env=old)),
                **servers,
            }
        cpu: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs):
            last = run == args.runs - 1
            for door in args.doors.split(","):
                for name, server in servers.items():
                    curl = ["-T", str(source), *_upload_args(server, door, run, size)]
                    trace_to = args.work / f"{tool}-put-{door}-{name}.txt"
                    value = _timed(
                        server,
                        f"{name} upload {door} run {run}",
                        curl,
                        gb,
                        tool=tool if last else None,
                        trace_to=trace_to,
                    )
                    cpu.setdefault((f"upload {door}", name), []).append(value)
        for door in [d for d in args.download.split(",") if d]:
            curls = {name: _download_args(server, door) for name, server in servers.items()}
            for run in range(args.runs):
                last = run == args.runs - 1
                for name, server in servers.items():
                    trace_to = args.work / f"{tool}-get-{door}-{name}.txt"
                    value = _timed(
                        server,
                        f"{name} download {door} run {run}",
                        curls[name],
                        gb,
                        tool=tool if last else None,
                        trace_to=trace_to,
                    )
                    cpu.setdefault((f"download {door}", name), []).append(value)
    print(load_average())
    for (what, name), values in cpu.items():
        kept = values[1:] or values
        line = f"{what} {name}: median {statistics.median(kept):.2f} CPU-s/GB of {', '.join(f'{v:.2f}' for v in kept)}"
        if name == "after" and (what, "before") in cpu:
            ratios = [a / b for a, b in zip(values, cpu[(what, "before")], strict=True)]
            line += f"; after/before median {statistics.median(ratios[1:] or ratios):.2f}"
        print(line)
    for name in ("sr-after", "sr-before"):
        subprocess.run(["rm", "-rf", str(args.work / name)], check=False)


if __name__ == "__main__":
    main()
