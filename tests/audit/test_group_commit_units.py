"""A unit of work's events in a shared commit (SQLite) or its own (PostgreSQL): they are chained only
if the unit's change commits, and on SQLite a batch's events go straight into the chain, with no
savepoint for a unit that is alone in its batch."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text

from strongroom.audit import sequencer
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.models import AuditEvent, AuditTile, PendingAuditEvent
from strongroom.db.session import transaction
from strongroom.errors import Conflict
from strongroom.runtime import Runtime
from tests.audit.helpers import OFFICER, pending_event_row, verify_db, write_events


def _item_ids(runtime: Runtime) -> list[str | None]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent.item_id).order_by(AuditEvent.seq)))


def test_a_unit_that_fails_while_committing_leaves_no_event_and_no_change(runtime: Runtime) -> None:
    write_events(runtime, 1, item_id="fi_before")
    with transaction(runtime.sessions) as session:
        session.execute(insert(AuditTile).values(level=99, idx=0, hashes=b"taken"))

    def failing_unit() -> None:
        with transaction(runtime.sessions) as session:
            record(
                session,
                OFFICER,
                AuditAction.CONTENT_READ,
                item=ItemRef("file", "fi_lost"),
                at=runtime.clock.now(),
            )
            session.execute(insert(AuditTile).values(level=98, idx=0, hashes=b"change"))
            # Fails at the flush inside commit, after the events were handed over for writing.
            session.add(AuditTile(level=99, idx=0, hashes=b"clash"))

    with pytest.raises(Conflict):
        failing_unit()
    write_events(runtime, 1, item_id="fi_after")
    assert _item_ids(runtime) == ["fi_before", "fi_after"]
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(AuditTile.hashes).where(AuditTile.level == 98)) is None
        assert sequencer.pending_count(session) == 0
    assert not verify_db(runtime).problems


def test_on_sqlite_a_lone_unit_writes_its_event_into_the_chain_without_savepoint_or_pending_row(
    runtime: Runtime,
) -> None:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("SQLite group commit")
    write_events(runtime, 1)  # the head row exists and the engine is warm
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]).upper())

    event.listen(runtime.engine, "before_cursor_execute", seen)
    try:
        write_events(runtime, 1, item_id="fi_alone")
    finally:
        event.remove(runtime.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))], statements
    assert "INSERT INTO AUDIT_EVENT" in statements
    assert "INSERT INTO AUDIT_PENDING" not in statements
    assert _item_ids(runtime)[-1] == "fi_alone"
    assert not verify_db(runtime).problems


def test_a_pass_that_waited_for_another_processs_pass_keeps_times_in_order(runtime: Runtime) -> None:
    """Two passes (as of two processes) race for the head: the one that waited still stamps its
    events no earlier than the event the other one chained, whatever their clocks said."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite passes never wait for one another: one writer holds the database")
    now = runtime.clock.now()
    pending = insert(PendingAuditEvent)
    with runtime.engine.begin() as connection:
        connection.execute(pending, pending_event_row(now, item_id="fi_first"))
    first = runtime.engine.connect()
    first.begin()
    assert sequencer.chain_pending(first) == 1  # holds the head row until it commits
    with runtime.engine.begin() as connection:  # an earlier clock, in another process
        connection.execute(pending, pending_event_row(now - timedelta(hours=1), item_id="fi_second"))
    second: list[int] = []

    def other_process() -> None:
        with runtime.engine.begin() as connection:
            second.append(sequencer.chain_pending(connection))

    thread = threading.Thread(target=other_process)
    thread.start()
    with runtime.engine.connect() as watcher:  # until the second pass waits for the head row
        for _ in range(1000):
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
            if waiting or not thread.is_alive():
                break
            threading.Event().wait(0.01)
    first.commit()
    first.close()
    thread.join()
    assert second == [1]
    with transaction(runtime.sessions) as session:
        times = list(session.scalars(select(AuditEvent.occurred_at).order_by(AuditEvent.seq)))
    assert times == [now, now]
    assert not verify_db(runtime).problems
