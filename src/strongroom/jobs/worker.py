"""The worker: claims jobs and runs their handlers; also runs periodic housekeeping.

`strongroom serve` runs one in a thread (embedded deployment); `strongroom worker` runs it alone.
"""

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strongroom.db.session import database_failure
from strongroom.errors import Unavailable
from strongroom.jobs.queue import ClaimedJob, JobQueue
from strongroom.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[Runtime, dict[str, Any]], None]


@dataclass
class Periodic:
    name: str
    every_seconds: float
    run: Callable[[Runtime], None]
    last_run: float = field(default=0.0)


class Worker:
    def __init__(
        self, runtime: Runtime, queue: JobQueue, handlers: dict[str, Handler], periodic: list[Periodic]
    ) -> None:
        self.runtime = runtime
        self.queue = queue
        self.handlers = handlers
        self.periodic = periodic
        self.stop_event = threading.Event()

    def run_once(self) -> bool:
        """Run one ready job, if any. Returns whether one ran."""
        job = self.queue.claim()
        if job is None:
            return False
        self._run(job)
        return True

    def run_until_idle(self, *, max_jobs: int = 10_000) -> int:
        """Run jobs until none is ready (tests and the CLI use this)."""
        count = 0
        while count < max_jobs and self.run_once():
            count += 1
        return count

    def _run(self, job: ClaimedJob) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            self.queue.fail(job.id, f"no handler for job kind {job.kind!r}")
            return
        try:
            handler(self.runtime, job.payload)
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.queue.fail(job.id, traceback.format_exc())
        else:
            self.queue.complete(job.id)

    def run_periodic(self) -> None:
        """Run each periodic task that is due here and that no other worker has run this period
        (JobQueue.claim_period): N workers sharing a database run each task once per period."""
        now = time.monotonic()
        for task in self.periodic:
            if self.stop_event.is_set():
                return  # asked to stop: the next worker to start picks the task up
            if now - task.last_run >= task.every_seconds:
                task.last_run = now
                try:
                    if self.queue.claim_period(task.name, every_seconds=task.every_seconds):
                        task.run(self.runtime)
                except Exception:
                    log.exception("periodic task %s failed", task.name)

    def run_forever(self, *, poll_seconds: float = 1.0, max_outage_wait: float = 30.0) -> None:
        """Run until stopped. A database outage is waited out, never fatal: the worker sleeps, longer
        each time up to `max_outage_wait`, and carries on when the database answers again; a job it
        held meanwhile is claimed again when its lease runs out."""
        outage_wait = poll_seconds
        while not self.stop_event.is_set():
            try:
                self.run_periodic()
                ran = not self.stop_event.is_set() and self.run_once()
            except Exception as exc:
                if not isinstance(exc, Unavailable) and database_failure(exc) is None:
                    raise
                log.warning("database unavailable; the worker retries in %.0f s: %s", outage_wait, exc)
                self.stop_event.wait(outage_wait)
                outage_wait = min(outage_wait * 2, max_outage_wait)
                continue
            outage_wait = poll_seconds
            if not ran:
                self.stop_event.wait(poll_seconds)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="strongroom-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask run_forever to return: the job in hand is finished first, none is claimed after."""
        self.stop_event.set()

    def stop_on_sigterm(self) -> None:
        """Make SIGTERM (systemd, Kubernetes, compose stopping the worker) a graceful stop()."""
        signal.signal(signal.SIGTERM, lambda _signum, _frame: self.stop())
