"""Many workers on one database: each periodic task runs once per period across all of them, and a
worker asked to stop (SIGTERM) finishes the job in hand and claims no other."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from typing import Any

from sqlalchemy import select

from strongroom.config import Settings
from strongroom.db.session import transaction
from strongroom.jobs.models import Job
from strongroom.jobs.worker import Periodic, Worker
from strongroom.runtime import Runtime
from tests.cli.test_server_cli import STRONGROOM, cli_env


def test_a_periodic_task_runs_once_per_period_across_workers(settings: Settings, runtime: Runtime) -> None:
    runs: list[str] = []
    other = Runtime.build(settings)  # a second process's view: its own engine, same database
    try:
        workers = [
            Worker(rt, rt.jobs, {}, [Periodic("test.tick", 3600, lambda _rt, who=who: runs.append(who))])
            for who, rt in (("first", runtime), ("second", other))
        ]
        for worker in workers:
            worker.periodic[0].last_run = -1e9  # due by each worker's own (monotonic) clock
            worker.run_periodic()
        assert len(runs) == 1
        for worker in workers:
            worker.periodic[0].last_run = -1e9  # as if an hour had passed on each worker's own clock
            worker.run_periodic()
        assert len(runs) == 1  # still the same period by the shared clock: nobody runs it again
    finally:
        other.close()


def test_stop_finishes_the_job_in_hand_and_claims_no_more(runtime: Runtime) -> None:
    started, release = threading.Event(), threading.Event()
    done: list[int] = []

    def slow(_rt: Runtime, payload: dict[str, Any]) -> None:
        started.set()
        release.wait(30)
        done.append(payload["n"])

    with transaction(runtime.sessions) as session:
        for n in (1, 2):
            runtime.jobs.enqueue(session, "test.slow", {"n": n})
    worker = Worker(runtime, runtime.jobs, {"test.slow": slow}, [])
    thread = worker.start_thread()
    assert started.wait(60)
    worker.stop()  # what SIGTERM does in `strongroom worker`
    release.set()
    thread.join(60)
    assert not thread.is_alive()
    assert done == [1]
    with transaction(runtime.sessions) as session:
        states = sorted(session.scalars(select(Job.status).where(Job.kind == "test.slow")))
    assert states == ["done", "queued"]  # the second is left for another worker, never half-run


def test_strongroom_worker_stops_on_sigterm(settings: Settings, runtime: Runtime) -> None:
    process = subprocess.Popen(
        [*STRONGROOM, "worker"],
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        line = ""
        while "worker started" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
        assert "worker started" in line
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        assert "worker stopped" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
