"""JobQueue: the protocol, and the database-backed queue of the embedded deployment.

A job is enqueued in the same transaction as the change that needs it, so a committed change always
gets its job and a rolled-back one never does.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.db.session import transaction
from strongroom.errors import Conflict
from strongroom.jobs.models import Job

MAX_ATTEMPTS = 5
# A job claimed longer ago than this is presumed to belong to a dead worker and is handed out again.
CLAIM_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int


class JobQueue(Protocol):
    """A JobQueue SHALL hand each job to one worker at a time and SHALL hand it out again if that worker
    dies; handlers therefore SHALL be idempotent."""

    def enqueue(
        self, session: Session, kind: str, payload: dict[str, Any], *, delay: timedelta | None = None
    ) -> str: ...

    def claim(self) -> ClaimedJob | None: ...

    def complete(self, job_id: str) -> None: ...

    def fail(self, job_id: str, error: str) -> None: ...

    def claim_period(self, task: str, *, every_seconds: float) -> bool:
        """Whether this worker runs periodic `task` for the current period. A JobQueue SHALL answer
        True to exactly one caller per period across every process that shares it."""
        ...


class DatabaseJobQueue:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def enqueue(
        self, session: Session, kind: str, payload: dict[str, Any], *, delay: timedelta | None = None
    ) -> str:
        now = self.clock.now()
        job = Job(
            id=new_id("job"),
            kind=kind,
            payload=json.dumps(payload),
            status="queued",
            attempts=0,
            run_after=now + (delay or timedelta()),
            created_at=now,
        )
        session.add(job)
        return job.id

    def claim(self) -> ClaimedJob | None:
        now = self.clock.now()
        with transaction(self.sessions) as session:
            query = (
                select(Job)
                .where(
                    ((Job.status == "queued") & (Job.run_after <= now))
                    | ((Job.status == "running") & (Job.claimed_at < now - CLAIM_TIMEOUT))
                )
                .order_by(Job.run_after)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            job = session.scalar(query)
            if job is None:
                return None
            job.status = "running"
            job.claimed_at = now
            job.attempts += 1
            return ClaimedJob(
                id=job.id, kind=job.kind, payload=json.loads(job.payload), attempts=job.attempts
            )

    def complete(self, job_id: str) -> None:
        with transaction(self.sessions) as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(status="done", finished_at=self.clock.now())
            )

    def claim_period(self, task: str, *, every_seconds: float) -> bool:
        """Insert the period's marker job under an id derived from (task, period): the primary key lets
        one insert win across the cluster; the others' inserts fail and they skip the period."""
        now = self.clock.now()
        period = int(now.timestamp() // every_seconds)
        marker = "pd_" + hashlib.sha256(f"{task}:{period}".encode()).hexdigest()[:23]
        try:
            with transaction(self.sessions) as session:
                session.add(
                    Job(
                        id=marker,
                        kind=f"periodic:{task}"[:64],
                        payload="{}",
                        status="done",
                        attempts=1,
                        run_after=now,
                        claimed_at=now,
                        finished_at=now,
                        created_at=now,
                    )
                )
        except Conflict:
            return False  # another worker took this period
        return True

    def forget_periods(self, *, older_than: timedelta) -> int:
        """Remove period markers older than `older_than` (they only have to outlive their period)."""
        with transaction(self.sessions) as session:
            result = session.execute(
                delete(Job).where(
                    Job.kind.startswith("periodic:"), Job.created_at < self.clock.now() - older_than
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def fail(self, job_id: str, error: str) -> None:
        now = self.clock.now()
        with transaction(self.sessions) as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            job.last_error = error[:4000]
            if job.attempts >= MAX_ATTEMPTS:
                job.status = "failed"
                job.finished_at = now
            else:
                job.status = "queued"
                job.run_after = now + timedelta(seconds=2**job.attempts)

    def pending(self, kind: str | None = None) -> int:
        with transaction(self.sessions) as session:
            query = select(Job.id).where(Job.status.in_(("queued", "running")))
            if kind:
                query = query.where(Job.kind == kind)
            return len(list(session.scalars(query)))
