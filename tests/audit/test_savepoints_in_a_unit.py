"""A savepoint inside a unit of work (`session.begin_nested()`, as single sign-on uses) neither hands
the unit's events and on-commit hooks out early nor throws away those recorded before it: they go
with the unit's own commit, and a savepoint that rolls back takes back only what it added."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.models import AuditEvent, AuditTile
from strongroom.db import session as db_session
from strongroom.db.session import on_commit, transaction
from strongroom.runtime import Runtime
from tests.audit.helpers import OFFICER, verify_db, write_events


class Refused(Exception):
    """A sign-in refused after the account was made (too many groups, say)."""


def _events_about(runtime: Runtime, item_id: str) -> list[str]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.item_id == item_id)))


def _change(runtime: Runtime, level: int) -> bytes | None:
    with transaction(runtime.sessions) as session:
        return session.scalar(select(AuditTile.hashes).where(AuditTile.level == level))


def _user_created(session: Session, runtime: Runtime, user_id: str) -> None:
    record(session, OFFICER, AuditAction.USER_CREATED, item=ItemRef("user", user_id), at=runtime.clock.now())


def _fails_after_a_released_savepoint(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        _user_created(session, runtime, "us_ghost")
        session.execute(insert(AuditTile).values(level=91, idx=0, hashes=b"the account"))
        with session.begin_nested():
            session.add(AuditTile(level=92, idx=0, hashes=b"its link"))
        raise Refused


def test_a_unit_that_fails_after_a_released_savepoint_leaves_no_event(runtime: Runtime) -> None:
    write_events(runtime, 1, item_id="fi_before")
    if runtime.engine.dialect.name != "sqlite":
        with pytest.raises(Refused):
            _fails_after_a_released_savepoint(runtime)
    else:
        # On SQLite the unit must share its batch with another that commits, or its failure would
        # take the whole (empty) batch with it: hold the batch open until the failing unit waits.
        queue = db_session._WRITE_QUEUES[runtime.engine]
        go, failures = threading.Event(), []

        def first() -> None:
            with transaction(runtime.sessions) as session:
                session.execute(insert(AuditTile).values(level=90, idx=0, hashes=b"another change"))
                go.wait(30)

        def second() -> None:
            try:
                _fails_after_a_released_savepoint(runtime)
            except Refused as exc:
                failures.append(exc)

        holder = threading.Thread(target=first)
        holder.start()
        while queue.holder is None:
            threading.Event().wait(0.01)
        failing = threading.Thread(target=second)
        failing.start()
        while queue.waiting == 0:
            threading.Event().wait(0.01)
        go.set()
        holder.join()
        failing.join()
        assert len(failures) == 1
        assert _change(runtime, 90) == b"another change"
    assert _change(runtime, 91) is None
    assert _events_about(runtime, "us_ghost") == []
    assert not verify_db(runtime).problems


def test_events_and_hooks_from_before_a_rolled_back_savepoint_commit_with_the_unit(runtime: Runtime) -> None:
    write_events(runtime, 1, item_id="fi_before")
    with transaction(runtime.sessions) as session:
        session.execute(insert(AuditTile).values(level=93, idx=0, hashes=b"the group, made by another"))
    ran: list[str] = []
    with transaction(runtime.sessions) as session:
        _user_created(session, runtime, "us_real")
        on_commit(session, lambda: ran.append("before"))
        session.execute(insert(AuditTile).values(level=94, idx=0, hashes=b"the account"))
        try:  # as identity.sso._directory_group: someone made the group at the same moment, use theirs
            with session.begin_nested():
                _user_created(session, runtime, "us_inside")
                on_commit(session, lambda: ran.append("inside"))
                session.add(AuditTile(level=93, idx=0, hashes=b"the same group"))
        except IntegrityError:
            pass
    assert _change(runtime, 94) == b"the account"
    assert _events_about(runtime, "us_real") == ["identity.user.created"]
    assert _events_about(runtime, "us_inside") == []
    assert ran == ["before"]
    assert not verify_db(runtime).problems


def test_a_unit_that_leaves_a_savepoint_open_commits_nothing(runtime: Runtime) -> None:
    write_events(runtime, 1, item_id="fi_before")

    def unit() -> None:
        with transaction(runtime.sessions) as session:
            _user_created(session, runtime, "us_open")
            session.execute(insert(AuditTile).values(level=95, idx=0, hashes=b"the account"))
            session.begin_nested()

    with pytest.raises(RuntimeError, match="savepoint"):
        unit()
    assert _change(runtime, 95) is None
    assert _events_about(runtime, "us_open") == []
