"""The worker waits out a database outage and carries on: it neither dies nor loses the queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine

from strongroom.config import DatabaseSettings, Settings
from strongroom.db.migrate import upgrade
from strongroom.db.session import transaction
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime
from tests.support import own_postgres

pytestmark = pytest.mark.skipif(not own_postgres.available(), reason="needs PostgreSQL 15 binaries")


@pytest.fixture
def pg_runtime(settings: Settings) -> Iterator[tuple[Runtime, own_postgres.OwnPostgres]]:
    server = own_postgres.start_own_postgres()
    engine = create_engine(server.url)
    upgrade(engine)
    engine.dispose()
    runtime = Runtime.build(
        settings.model_copy(update={"database": DatabaseSettings(url=server.url, pool_size=2)})
    )
    yield runtime, server
    runtime.close()
    server.remove()


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_worker_survives_a_database_outage_and_runs_jobs_afterwards(
    pg_runtime: tuple[Runtime, own_postgres.OwnPostgres],
) -> None:
    runtime, server = pg_runtime
    done: list[str] = []
    worker = Worker(runtime, runtime.jobs, {"tests.note": lambda _rt, payload: done.append(payload["n"])}, [])
    thread = threading.Thread(target=worker.run_forever, kwargs={"poll_seconds": 0.05}, daemon=True)
    thread.start()
    with transaction(runtime.sessions) as session:
        runtime.jobs.enqueue(session, "tests.note", {"n": "before"})
    wait_for(lambda: done == ["before"], "the first job")

    server.stop()
    time.sleep(2)  # several polls find no database
    assert thread.is_alive(), "the worker died when the database went away"
    server.start()

    def enqueue_after() -> bool:
        try:
            with transaction(runtime.sessions) as session:
                runtime.jobs.enqueue(session, "tests.note", {"n": "after"})
        except Exception:
            return False
        return True

    wait_for(enqueue_after, "the database to accept work again")
    wait_for(lambda: done == ["before", "after"], "the job enqueued after the outage")
    worker.stop()
    thread.join(timeout=30)
