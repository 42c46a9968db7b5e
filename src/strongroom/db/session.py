"""Engines and the unit of work.

`transaction()` is the only place that commits. Services flush, never commit; side effects that must
wait for a durable commit (jobs, notifications) are registered with `on_commit()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from strongroom.errors import Conflict, InputError

_ON_COMMIT = "strongroom.on_commit"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Own the transaction boundaries ourselves (see _sqlite_begin_immediate) instead of pysqlite's.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit we acknowledged survives power loss, not only a process crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing with
    # "database is locked" when a read transaction later tries to write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


_SQLITE_WRITE_LOCKS: dict[int, threading.RLock] = {}


def _process_lock(factory: sessionmaker[Session]) -> threading.RLock | None:
    """SQLite admits one writer at a time. Queueing our own threads on a lock hands the database over the
    moment it is free, where SQLite's busy handler would sleep in growing steps (up to 100 ms) and
    collapse throughput under concurrency. Other processes still wait through busy_timeout."""
    engine = factory.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return None
    # Reentrant: on-commit callbacks run while it is held and may open the next transaction.
    return _SQLITE_WRITE_LOCKS.setdefault(id(engine), threading.RLock())


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One durable unit of work: commit on success, roll back on any exception, then run on-commit hooks."""
    lock = _process_lock(factory)
    if lock is None:
        with _transaction(factory) as session:
            yield session
        return
    with lock, _transaction(factory) as session:
        yield session


@contextmanager
def _transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    if session.info.get("strongroom.in_transaction"):
        msg = "transaction() does not nest"
        raise RuntimeError(msg)
    session.info["strongroom.in_transaction"] = True
    try:
        yield session
        session.commit()
    except DataError as exc:
        session.rollback()
        # The database refused a value the edge let through (PostgreSQL rejects NUL in text, say):
        # that is bad input, and answers 400 like any other.
        raise InputError(
            "A value in the request cannot be stored or looked up (e.g. it holds a NUL byte)."
        ) from exc
    except IntegrityError as exc:
        session.rollback()
        # Checks run before writes; a constraint that still fires means a concurrent writer won a race.
        raise Conflict("Someone else changed this at the same moment; reload and try again.") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        callbacks: list[Callable[[], None]] = session.info.pop(_ON_COMMIT, [])
        committed = session.info.pop("strongroom.committed", False)
        session.close()
    if committed:
        for callback in callbacks:
            callback()


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after the surrounding transaction commits; dropped if it rolls back."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    session.info["strongroom.committed"] = True


@event.listens_for(Session, "after_soft_rollback")
def _drop_callbacks(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(_ON_COMMIT, None)
