"""A unit of work's events in a shared commit (SQLite) or its own (PostgreSQL): they are chained only
if the unit's change commits, and on SQLite a batch's events go straight into the chain, with no
savepoint for a unit that is alone in its batch."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, insert, select

from strongroom.audit import sequencer
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.models import AuditEvent, AuditTile
from strongroom.db.session import transaction
from strongroom.errors import Conflict
from strongroom.runtime import Runtime
from tests.audit.helpers import OFFICER, verify_db, write_events


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
