"""Engines and the unit of work.

`transaction()` is the only place that commits. Services flush, never commit; side effects that must
wait for a durable commit (jobs, notifications) are registered with `on_commit()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from strongroom.errors import Conflict, DatabaseFull, DatabaseUnavailable, InputError, StrongroomError

_ON_COMMIT = "strongroom.on_commit"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        # pre_ping tests each pooled connection before use, so after a database restart the dead ones
        # are replaced instead of failing one request each; and a request never waits long for a
        # connection, so an outage answers 503 within seconds instead of hanging the client.
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {},
    )


# SQLSTATE class 53 "insufficient resources": 53100 disk_full (PostgreSQL).
_PG_DISK_FULL = "53100"


def database_failure(exc: Exception) -> StrongroomError | None:
    """The outage a driver error stands for, or None when it is not one (a bug, a constraint).

    The one place where SQLAlchemy's and the drivers' failures become stable codes: a full disk is
    DatabaseFull (507); a lost, refused or timed-out connection, or a database that is starting up
    or shutting down, is DatabaseUnavailable (503).
    """
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        text = str(orig).lower()
        if getattr(orig, "sqlstate", None) == _PG_DISK_FULL or "database or disk is full" in text:
            return DatabaseFull("The database's disk is full; nothing was recorded. Tell your administrator.")
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or exc.connection_invalidated:
            return DatabaseUnavailable("The database is unavailable for a moment; nothing was changed.")
        return None
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in pool_timeout
        return DatabaseUnavailable("The database is unavailable for a moment; nothing was changed.")
    return None


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
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
        _rollback_quietly(session)
        failure = database_failure(exc)
        if failure is None:
            raise
        raise failure from exc
    except BaseException:
        _rollback_quietly(session)
        raise
    finally:
        callbacks: list[Callable[[], None]] = session.info.pop(_ON_COMMIT, [])
        committed = session.info.pop("strongroom.committed", False)
        session.close()
    if committed:
        for callback in callbacks:
            callback()


def _rollback_quietly(session: Session) -> None:
    # On a dead connection the rollback fails too; the first error is the one worth reporting, and
    # the pool has already invalidated the connection.
    with suppress(sa_exc.DBAPIError):
        session.rollback()


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after the surrounding transaction commits; dropped if it rolls back."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    session.info["strongroom.committed"] = True


@event.listens_for(Session, "after_soft_rollback")
def _drop_callbacks(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(_ON_COMMIT, None)
