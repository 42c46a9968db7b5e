"""Job queues measured on this machine (issue 17: "jobs through an existing queue library, on PostgreSQL or
Redis: measure and choose"): our own table queue (jobs/queue.py, SKIP LOCKED claims) on PostgreSQL and on
SQLite, rq on Redis, procrastinate on PostgreSQL. The same number of no-op jobs for each:

- enqueue: one producer, one job per transaction (as the app enqueues, with the change it follows);
  median and p95 latency, and jobs/s;
- drain: 1 and 4 worker processes claim and complete every job; jobs/s from the first claim to the empty
  queue, and the workers' CPU-seconds per 1000 jobs.

    .venv/bin/pip install -e '.[bench]' -c constraints.txt
    .venv/bin/python bench/bench_queue.py [--jobs 2000] [--only ours-pg,rq,procrastinate]

Needs PostgreSQL at 127.0.0.1:5432 (a database `strongroom_queue_bench` is made and dropped) and Redis at
127.0.0.1:6379 (the queue `strongroom-bench` is emptied). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

DB = "strongroom_queue_bench"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1/{DB}"
PG_DSN = f"postgresql://postgres@127.0.0.1/{DB}"
REDIS_URL = "redis://127.0.0.1:6379/0"
RQ_QUEUE = "strongroom-bench"


def noop(n: int) -> int:
    """The job: nothing, so the figures are the queue's own cost."""
    return n


# --- our queue -------------------------------------------------------------------------------------


def _ours_runtime(url: str | None, data_dir: Path) -> Any:
    from strongroom.config import Settings
    from strongroom.runtime import Runtime

    database = {"url": url} if url else {}
    settings = Settings(dev_mode=True, data_dir=data_dir, secret_key="bench", database=database)  # type: ignore[arg-type]
    return Runtime.build(settings)


def _ours_queue(url: str | None, data_dir: Path) -> Any:
    from strongroom.jobs.queue import DatabaseJobQueue

    runtime = _ours_runtime(url, data_dir)
    return DatabaseJobQueue(runtime.sessions, runtime.clock)


def ours_setup(url: str | None, data_dir: Path) -> None:
    from strongroom.db.migrate import upgrade

    upgrade(_ours_runtime(url, data_dir).engine)


def ours_enqueue(url: str | None, data_dir: Path) -> Callable[[int], None]:
    from strongroom.db.session import transaction

    queue = _ours_queue(url, data_dir)

    def enqueue(n: int) -> None:
        with transaction(queue.sessions) as session:
            queue.enqueue(session, "bench:noop", {"n": n})

    return enqueue


def ours_worker(url: str | None, data_dir: Path) -> Callable[[], None]:
    queue = _ours_queue(url, data_dir)

    def work() -> None:
        while (job := queue.claim()) is not None:
            noop(job.payload["n"])
            queue.complete(job.id)

    return work


# --- rq on Redis -----------------------------------------------------------------------------------


def rq_setup(_url: str | None, _data_dir: Path) -> None:
    from redis import Redis
    from rq import Queue

    Queue(RQ_QUEUE, connection=Redis.from_url(REDIS_URL)).empty()


def rq_enqueue(_url: str | None, _data_dir: Path) -> Callable[[int], None]:
    from redis import Redis
    from rq import Queue

    queue = Queue(RQ_QUEUE, connection=Redis.from_url(REDIS_URL))

    def enqueue(n: int) -> None:
        queue.enqueue("bench_queue.noop", n)

    return enqueue


def rq_worker(_url: str | None, _data_dir: Path) -> Callable[[], None]:
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(REDIS_URL)
    # SimpleWorker runs jobs in its own process: the default Worker forks one process per job.
    worker = SimpleWorker([Queue(RQ_QUEUE, connection=connection)], connection=connection)
    return lambda: worker.work(burst=True, logging_level="WARNING")


# --- procrastinate on PostgreSQL -------------------------------------------------------------------


def _procrastinate_app() -> Any:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=PG_DSN))
    app.task(name="noop", queue="bench")(noop)
    return app


def procrastinate_setup(_url: str | None, _data_dir: Path) -> None:
    app = _procrastinate_app()
    with app.open():
        app.schema_manager.apply_schema()


def procrastinate_enqueue(_url: str | None, _data_dir: Path) -> Callable[[int], None]:
    app = _procrastinate_app()
    app.open()
    task = app.tasks["noop"]

    def enqueue(n: int) -> None:
        task.defer(n=n)

    return enqueue


def procrastinate_worker(_url: str | None, _data_dir: Path) -> Callable[[], None]:
    import logging

    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    app = _procrastinate_app()

    def work() -> None:
        with app.open():
            app.run_worker(queues=["bench"], wait=False, concurrency=1, install_signal_handlers=False)

    return work


# --- harness ---------------------------------------------------------------------------------------

SYSTEMS: dict[
    str,
    tuple[
        str | None,
        Callable[..., None],
        Callable[..., Callable[[int], None]],
        Callable[..., Callable[[], None]],
    ],
] = {
    "ours-sqlite": (None, ours_setup, ours_enqueue, ours_worker),
    "ours-pg": (PG_URL, ours_setup, ours_enqueue, ours_worker),
    "rq": (None, rq_setup, rq_enqueue, rq_worker),
    "procrastinate": (None, procrastinate_setup, procrastinate_enqueue, procrastinate_worker),
}


def _work(name: str, url: str | None, data_dir: Path, ready: Any, start: Any, results: Any) -> None:  # noqa: PLR0917
    warnings.filterwarnings("ignore")
    work = SYSTEMS[name][3](url, data_dir)
    ready.release()
    start.wait()
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    work()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    results.put((began, time.perf_counter(), cpu))


def drain(name: str, url: str | None, data_dir: Path, workers: int) -> tuple[float, float]:
    """(seconds from the first worker's start to the last one's end, workers' CPU-seconds)."""
    context = multiprocessing.get_context("spawn")
    ready = context.Semaphore(0)
    start = context.Event()
    results = context.Queue()
    procs = [
        context.Process(target=_work, args=(name, url, data_dir, ready, start, results))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:  # imports and connections before the clock starts
        ready.acquire(timeout=300)
    start.set()
    got = [results.get(timeout=900) for _ in procs]
    for proc in procs:
        proc.join()
    return max(g[1] for g in got) - min(g[0] for g in got), sum(g[2] for g in got)


def pg(*command: str) -> None:
    subprocess.run([*command, "-h", "127.0.0.1", "-U", "postgres", DB], check=False, capture_output=True)


def bench(name: str, jobs: int, data_dir: Path) -> None:
    url, setup, make_enqueue, _ = SYSTEMS[name]
    for workers in (1, 4):
        pg("dropdb", "--force")
        pg("createdb")
        for old in data_dir.glob("*"):
            if old.is_file():
                old.unlink()
        setup(url, data_dir)
        enqueue = make_enqueue(url, data_dir)
        for n in range(20):  # warm-up: connections, caches
            enqueue(-n)
        SYSTEMS[name][3](url, data_dir)()
        latencies = []
        cpu0 = time.process_time()
        for n in range(jobs):
            began = time.perf_counter()
            enqueue(n)
            latencies.append((time.perf_counter() - began) * 1000)
        enqueue_cpu = time.process_time() - cpu0
        seconds, cpu = drain(name, url, data_dir, workers)
        p95 = statistics.quantiles(latencies, n=20)[18]
        print(
            f"  {name:<14} {workers} worker{'s' if workers > 1 else ' '}: enqueue median"
            f" {statistics.median(latencies):5.2f} ms p95 {p95:5.2f} ms ({jobs / (sum(latencies) / 1000):6.0f}/s,"
            f" {enqueue_cpu / jobs * 1e6:5.0f} µs producer CPU/job); claim+complete {jobs / seconds:6.0f} jobs/s,"
            f" {cpu / jobs * 1000:5.2f} worker CPU-s per 1000 (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    pg("dropdb", "--force")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--only", default=",".join(SYSTEMS))
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    warnings.filterwarnings("ignore")  # procrastinate warns of an App made in the main module
    print(f"{args.jobs} no-op jobs each; {os.cpu_count()} cores, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            bench(name, args.jobs, Path(tmp))
    print(f"after: load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
