"""Engines and the unit of work.

`transaction()` is the only place that commits. Services flush, never commit; side effects that must
wait for a durable commit (jobs, notifications) are registered with `on_commit()`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from strongroom.db.unit_lists import outermost, take_unit_list, unit_list
from strongroom.errors import Conflict, DatabaseFull, DatabaseUnavailable, InputError, StrongroomError

_ON_COMMIT = "strongroom.on_commit"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        _savepoints_as_text(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        # A request never waits long for a connection, so an outage answers 503 within seconds
        # instead of hanging the client.
        pool_timeout=10,
        connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {},
    )
    _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this is tested before use (SELECT 1).
_PING_AFTER_IDLE_S = 1.0
_RETURNED = "strongroom.returned"


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use if it sat idle for a second or more, so that after a
    database restart the dead ones are replaced instead of failing a request each.

    Not every checkout, as pool_pre_ping does: the ping is a round trip, and a busy server checks a
    connection out for every unit of work (audit appends: about 250 client and 100 server CPU-us of
    a 1,500 per event). A connection back in the pool within the second was alive then; if the
    server died in that second, the one request on it answers 503 (database_unavailable) and
    SQLAlchemy drops the whole pool's connections, as it does for any disconnect."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)  # None: connected just now
        if returned is None or time.monotonic() - returned < _PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool replaces the connection and tries again (SQLAlchemy's documented recipe).
            raise sa_exc.DisconnectionError from exc


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


def _savepoints_as_text(engine: Engine) -> None:
    # Each unit of work in a group commit (_WriteQueue) opens and releases a SAVEPOINT. SQLAlchemy
    # compiles those statements afresh every time (they are never cached), which cost more CPU than
    # the unit's own INSERT; the names are SQLAlchemy's own (sa_savepoint_N), so plain text is safe.
    dialect = engine.dialect
    dialect.do_savepoint = _sql_with_name("SAVEPOINT")  # type: ignore[method-assign,assignment]
    dialect.do_release_savepoint = _sql_with_name("RELEASE SAVEPOINT")  # type: ignore[method-assign,assignment]
    dialect.do_rollback_to_savepoint = _sql_with_name("ROLLBACK TO SAVEPOINT")  # type: ignore[method-assign,assignment]


def _sql_with_name(verb: str) -> Callable[[Connection, str], None]:
    def run(connection: Connection, name: str) -> None:
        connection.exec_driver_sql(f"{verb} {name}")

    return run


def _sqlite_begin_immediate(connection: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing with
    # "database is locked" when a read transaction later tries to write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One durable unit of work: commit on success, roll back on any exception, then run on-commit hooks.

    On SQLite, units of work of several threads share one commit (group commit, see `_WriteQueue`):
    each still succeeds or fails on its own, and returns only once its commit is durable.
    """
    engine = factory.kw.get("bind")
    if isinstance(engine, Engine) and engine.dialect.name == "sqlite":
        queue = _WRITE_QUEUES.get(engine)
        if queue is None:
            queue = _WRITE_QUEUES.setdefault(engine, _WriteQueue())
        with queue.unit_of_work(factory, engine) as session:
            yield session
        return
    unit = _Unit(factory())
    with unit.run() as session:
        yield session
    unit.finish(committed=unit.released)


def _refuse_open_savepoint(session: Session) -> None:
    # Committing over it would hand the unit's events and hooks out before the savepoint's own
    # commit decides on them (db.unit_lists).
    if session.in_nested_transaction():
        msg = "a savepoint (session.begin_nested) was left open at the end of the unit of work"
        raise RuntimeError(msg)


class _Unit:
    """One unit of work on one session: maps the database's failures to stable errors at one seam."""

    def __init__(self, session: Session) -> None:
        if session.info.get("strongroom.in_transaction"):
            msg = "transaction() does not nest"
            raise RuntimeError(msg)
        session.info["strongroom.in_transaction"] = True
        self.session = session
        self.released = False  # the session committed (on SQLite: released its savepoint in the batch)
        self.callbacks: list[Callable[[], None]] = []

    @contextmanager
    def run(self) -> Iterator[Session]:
        session = self.session
        try:
            yield session
            _refuse_open_savepoint(session)
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
            self.callbacks = take_unit_list(session, _ON_COMMIT)
            self.released = session.info.pop("strongroom.committed", False)
            session.close()

    def finish(self, *, committed: bool) -> None:
        if committed:
            for callback in self.callbacks:
                callback()


# At most this many units of work share one commit, so that none waits long behind the others.
_MAX_GROUP = 128


_BATCH_HOOKS = "strongroom.before_group_commit"
_BATCH_LISTS = "strongroom.group_commit_lists"


def before_group_commit(connection: Connection, key: str, hook: Callable[[Connection], None]) -> bool:
    """Run `hook` once, on the shared connection, just before the group commit of the batch this unit
    of work belongs to (one hook per key however many units register it). False when the unit is not
    in a group-commit batch (PostgreSQL): the caller then does its work another way."""
    hooks: dict[str, Callable[[Connection], None]] | None = connection.info.get(_BATCH_HOOKS)
    if hooks is None:
        return False
    hooks.setdefault(key, hook)
    return True


def group_commit_list(connection: Connection, key: str) -> list[Any] | None:
    """A list that lives exactly as long as the group-commit batch this unit of work belongs to (one
    per key): units add to it, the batch's `before_group_commit` hooks read it. None when the unit is
    not in a batch (PostgreSQL). It is dropped with the batch, committed or not."""
    lists: dict[str, list[Any]] | None = connection.info.get(_BATCH_LISTS)
    if lists is None:
        return None
    return lists.setdefault(key, [])


class _Batch:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        connection.info[_BATCH_HOOKS] = {}
        connection.info[_BATCH_LISTS] = {}
        self.members = 0
        self.broken = False  # a member lost the connection or the disk: nothing in the batch may commit
        self.done = threading.Event()
        self.failure: BaseException | None = None


class _WriteQueue:
    """SQLite group commit (leader/follower, as in database write-ahead logs).

    SQLite admits one writer at a time and every commit costs an fsync (synchronous=FULL), so one unit
    of work per commit caps a whole server at the disk's fsyncs per second. Threads take turns on one
    open connection instead: each runs its unit of work in a SAVEPOINT and releases it; while others
    wait for their turn the transaction stays open and the next one joins it, and the unit that finds
    nobody waiting commits the whole batch with one fsync. Nobody is answered before that commit: each
    unit waits for it, then runs its on-commit hooks (or reports the batch's failure). A unit that
    fails rolls back to its own savepoint and leaves the batch's other units alone, unless it lost the
    connection or the disk, when the whole batch rolls back and every member reports the failure.

    Taking turns on a Python lock also hands the database over the moment it is free, where SQLite's
    busy handler would sleep in growing steps. Other processes still wait through busy_timeout.
    """

    def __init__(self) -> None:
        self.turn = threading.Lock()
        self.state = threading.Lock()
        self.waiting = 0
        self.batch: _Batch | None = None
        self.holder: int | None = None

    @contextmanager
    def unit_of_work(self, factory: sessionmaker[Session], engine: Engine) -> Iterator[Session]:
        if self.holder == threading.get_ident():
            msg = "transaction() does not nest"
            raise RuntimeError(msg)
        with self.state:
            self.waiting += 1
        self.turn.acquire()  # released in _close_turn, once the batch is settled or handed on
        self.holder = threading.get_ident()
        with self.state:
            self.waiting -= 1
        try:
            batch = self._open_batch(engine)
        except BaseException:
            self._close_turn(None)
            raise
        try:
            batch.members += 1
            # The first unit of a batch is alone in its transaction, so rolling that back undoes only
            # its own work: it needs no savepoint (two statements fewer; every unit, when writes are
            # rare). If it fails, the emptied batch is dropped in _close_turn.
            mode = "rollback_only" if batch.members == 1 else "create_savepoint"
            unit = _Unit(factory(bind=batch.connection, join_transaction_mode=mode))
            with unit.run() as session:
                yield session
        except (DatabaseUnavailable, DatabaseFull):
            batch.broken = True
            raise
        finally:
            self._close_turn(batch)
        batch.done.wait()
        if batch.failure is not None:
            raise batch.failure
        unit.finish(committed=unit.released)

    def _open_batch(self, engine: Engine) -> _Batch:
        if self.batch is None:
            connection = engine.connect()
            try:
                connection.begin()  # BEGIN IMMEDIATE (_sqlite_begin_immediate)
            except sa_exc.DBAPIError as exc:
                connection.close()
                raise (database_failure(exc) or exc) from exc
            except BaseException:
                connection.close()
                raise
            self.batch = _Batch(connection)
        return self.batch

    def _close_turn(self, batch: _Batch | None) -> None:
        """Hand the turn on; commit the batch first when nobody waits, it is full or it broke."""
        try:
            if batch is not None and not batch.connection.in_transaction():
                # Its first unit failed and rolled the transaction back: nobody else is in it.
                self.batch = None
                self._drop(batch)
                return
            with self.state:
                last = self.waiting == 0
            if batch is not None and (last or batch.broken or batch.members >= _MAX_GROUP):
                self.batch = None
                self._settle(batch)
        finally:
            self.holder = None
            self.turn.release()

    @staticmethod
    def _drop(batch: _Batch) -> None:
        connection = batch.connection
        connection.info.pop(_BATCH_HOOKS, None)
        connection.info.pop(_BATCH_LISTS, None)
        connection.close()
        batch.done.set()

    @staticmethod
    def _settle(batch: _Batch) -> None:
        connection = batch.connection
        hooks: dict[str, Callable[[Connection], None]] = connection.info.pop(_BATCH_HOOKS, {})
        try:
            if batch.broken:
                connection.rollback()
                batch.failure = DatabaseUnavailable(
                    "The database is unavailable for a moment; nothing was changed."
                )
            else:
                for hook in hooks.values():
                    hook(connection)
                connection.commit()
        except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
            batch.failure = database_failure(exc) or DatabaseUnavailable(
                "The database is unavailable for a moment; nothing was changed."
            )
            with suppress(sa_exc.DBAPIError):
                connection.rollback()
        except BaseException as exc:
            # A hook failed (a bug): nothing in the batch commits, and every member hears why.
            batch.failure = exc
            with suppress(sa_exc.DBAPIError):
                connection.rollback()
        finally:
            connection.info.pop(_BATCH_LISTS, None)
            connection.close()
            batch.done.set()


_WRITE_QUEUES: weakref.WeakKeyDictionary[Engine, _WriteQueue] = weakref.WeakKeyDictionary()


def _rollback_quietly(session: Session) -> None:
    # On a dead connection the rollback fails too; the first error is the one worth reporting, and
    # the pool has already invalidated the connection.
    with suppress(sa_exc.DBAPIError):
        session.rollback()


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after the unit of work commits; dropped if it, or the savepoint it was added in,
    rolls back."""
    unit_list(session, _ON_COMMIT).append(callback)


@event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    if outermost(session):  # not a savepoint released inside the unit
        session.info["strongroom.committed"] = True
