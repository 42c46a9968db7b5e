"""The sequencer: gives committed events their place in the hash chain, many at a time.

Why it exists. Chaining an event needs the previous event's hash, so appends are serial by nature.
When every transaction chained its own events it held the chain's head row from its chaining until
its commit was durable, so every writer waited for every other writer's fsync: one event per fsync,
a few hundred per second. Transparency logs solve this the same way we do now:

1. A unit of work inserts its events into `audit_pending` with the change they record, in the same
   transaction, taking no lock (events.record). The event is durable when the change is: the audit
   rule holds, and writers commit side by side (PostgreSQL merges concurrent commits into one WAL
   flush; SQLite's units share one commit, db.session._WriteQueue).
2. After the commit, one sequencer pass at a time (the head row lock across processes, a lock within
   one) takes every pending event it can see, in id order, stamps it (times never decrease along
   the sequence), chains it, stores the Merkle tiles it completes, deletes it from `audit_pending`
   and moves the head, in one transaction: one lock and one fsync for the whole batch.
3. The unit of work that committed an event does not return until a pass has chained it, so the
   client's answer, and any later request, sees the event in the log with its seq and hash.

A crash between 1 and 2 loses nothing: the events wait in `audit_pending` and the next pass after a
restart (any commit with an event, a checkpoint, an export, or the worker's periodic job) chains them.
Until then they are committed but not chained, and `pending_count` says so: checkpoints, exports,
custody bundles and `audit verify` cover exactly the chained events.
"""

from __future__ import annotations

import logging
import threading
import weakref
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from strongroom.audit import chain, tiles
from strongroom.audit.models import AuditEvent, AuditHead, PendingAuditEvent, table_of
from strongroom.db.session import group_commit_list, transaction

log = logging.getLogger(__name__)

# Events chained per pass: one transaction, bounded so that a backlog after a restart is chained in
# steps that each hold the head lock briefly.
PASS_LIMIT = 5000


def hashed_fields(seq: int, fields: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """The exact field set the chain hash covers (times as ISO 8601 UTC with microseconds)."""
    return {
        **fields,
        "seq": seq,
        # Stored as UTC, so hashed as UTC: a re-export from the database must give the same bytes.
        "occurred_at": fields["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }


_HEAD = table_of(AuditHead)
_EVENT = table_of(AuditEvent)
_PENDING = table_of(PendingAuditEvent)
# Built once: this runs for every batch under the head lock, so statement building is kept off it,
# and each pass makes as few round trips as it can (on PostgreSQL each costs the client more CPU than
# the work it carries): the head and its event's time in one, taking the pending events in another.
_LOCK_HEAD = (
    select(_HEAD.c.seq, _HEAD.c.hash, _EVENT.c.occurred_at)
    .select_from(_HEAD.outerjoin(_EVENT, _EVENT.c.seq == _HEAD.c.seq))
    .where(_HEAD.c.id == 1)
    .with_for_update(of=_HEAD)
)
_HEAD_TIME = select(_EVENT.c.occurred_at).where(_EVENT.c.seq == bindparam("seq"))
_TAKE_PENDING = (
    delete(_PENDING)
    .where(_PENDING.c.id.in_(select(_PENDING.c.id).order_by(_PENDING.c.id).limit(bindparam("limit"))))
    .returning(*_PENDING.c)
)
_INSERT_EVENTS = insert(_EVENT)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("seq"), hash=bindparam("hash"))

# PostgreSQL: the events and the head's move in one statement and one round trip, whatever the
# batch's size (one array per column; an INSERT of many rows would be rendered anew for each size).
_PG_TYPES = {"seq": "bigint", "occurred_at": "timestamptz"}
_PG_COLUMNS = [column.name for column in _EVENT.c]
_PG_ARRAYS = ", ".join(f"%({column})s::{_PG_TYPES.get(column, 'text')}[]" for column in _PG_COLUMNS)
_PG_APPEND = (  # built once, from the model's own table and column names
    f"WITH added AS (INSERT INTO {_EVENT.name} ({', '.join(_PG_COLUMNS)}) SELECT * FROM unnest({_PG_ARRAYS}))"  # noqa: S608
    f" UPDATE {_HEAD.name} SET seq = %(head_seq)s, hash = %(head_hash)s WHERE id = 1"
)


def _pg_append_params(events: list[dict[str, Any]], seq: int, digest: str) -> dict[str, Any]:
    params: dict[str, Any] = {column: [event[column] for event in events] for column in _PG_COLUMNS}
    params["head_seq"], params["head_hash"] = seq, digest
    return params


# Per engine: the Merkle frontier (the rightmost partial tiles) as this process's last pass left the
# tree, with the head (seq, hash) it belongs to. A pass uses it only when the head it locked is that
# same one (the hash fixes the whole log), so a pass in another process, or one that rolled back,
# just costs a read of the frontier from the database.
_FRONTIERS: weakref.WeakKeyDictionary[Engine, tuple[int, str, tiles.Frontier]] = weakref.WeakKeyDictionary()


# The group-commit list (db.session.group_commit_list) of events that units of an SQLite batch
# recorded: chained by chain_batch without passing through audit_pending.
BATCH_EVENTS = "audit.events"


def chain_pending(
    connection: Connection, *, limit: int = PASS_LIMIT, also: list[dict[str, Any]] | None = None
) -> int:
    """Chain up to `limit` pending events in this transaction, then the events `also` (written in this
    same transaction, never in audit_pending); how many were chained."""
    head = connection.execute(_LOCK_HEAD).one_or_none()
    # Deleted and read back in one statement: under the head lock no other pass takes them, and if
    # this transaction rolls back they are pending again.
    rows: list[Any] = sorted(
        connection.execute(_TAKE_PENDING, {"limit": limit}).mappings().all(), key=lambda row: row["id"]
    )
    if also:
        rows += also
    if not rows:
        return 0
    if head is None:
        connection.execute(insert(_HEAD).values(id=1, seq=0, hash=chain.GENESIS_HASH))
        first, prev, latest = 0, chain.GENESIS_HASH, None
    else:
        first, prev, latest = head.seq, head.hash, head.occurred_at if head.seq else None
        if first and latest is None:
            # PostgreSQL, after waiting for another process's pass: the locked row comes back at its
            # newest version, but the join saw the snapshot from before the wait, without the event
            # that pass added. Read that event's time now, or the order of times could break here.
            latest = connection.execute(_HEAD_TIME, {"seq": first}).scalar_one()
    # Times never decrease along the sequence: under the head lock, an event is stamped no earlier
    # than the one before it, whatever a stepped-back or skewed clock said. The trail's last time is
    # then a persisted high-water mark of time (audit.timeline).
    seq, events, leaves = first, [], []
    for row in rows:
        fields = dict(row)
        fields.pop("id", None)
        if latest is not None and fields["occurred_at"] < latest:
            fields["occurred_at"] = latest
        latest = fields["occurred_at"]
        seq += 1
        digest = chain.chain_hash(prev, chain.event_payload(hashed_fields(seq, fields, prev)))
        events.append({**fields, "seq": seq, "prev_hash": prev, "hash": digest})
        leaves.append(chain.event_leaf(digest))
        prev = digest
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_PG_APPEND, _pg_append_params(events, seq, prev))
    else:
        connection.execute(_INSERT_EVENTS, events)
        connection.execute(_MOVE_HEAD, {"seq": seq, "hash": prev})
    engine = connection.engine
    known = _FRONTIERS.get(engine)
    frontier = known[2] if known is not None and known[:2] == (first, head.hash if head else "") else None
    _FRONTIERS[engine] = (
        seq,
        prev,
        tiles.append_leaves(connection, old_size=first, leaves=leaves, frontier=frontier),
    )
    return len(rows)


def _chain_all(engine: Engine) -> int:
    """chain_all on a bare connection: the pass after every commit with events skips the ORM session."""
    total = 0
    while True:
        with engine.begin() as connection:
            done = chain_pending(connection)
        total += done
        if done < PASS_LIMIT:
            return total


def chain_all(sessions: sessionmaker[Session]) -> int:
    """Chain every pending event, a pass per transaction; how many were chained."""
    total = 0
    while True:
        with transaction(sessions) as session:
            done = chain_pending(session.connection())
        total += done
        if done < PASS_LIMIT:
            return total


def chain_batch(connection: Connection) -> None:
    """Chain the batch's events, and any left pending, in the shared transaction of an SQLite group
    commit just before it commits (db.session.before_group_commit): they are chained when it is durable."""
    also = group_commit_list(connection, BATCH_EVENTS) or []
    while chain_pending(connection, also=also) - len(also) == PASS_LIMIT:
        also = []


def pending_count(session: Session) -> int:
    """Events committed but not chained yet (none, except for a moment or after a crash)."""
    return int(session.scalar(select(func.count()).select_from(PendingAuditEvent)) or 0)


class _Chainer:
    """Per engine, in this process: who is running a pass, and which commits a pass has covered.

    Commits are numbered as they finish; a pass first reads the newest number, so when it ends every
    commit up to that number is chained (its events were visible to the pass's first query)."""

    def __init__(self) -> None:
        self.running = threading.Lock()
        self.changed = threading.Condition()
        self.committed = 0
        self.chained = 0


_CHAINERS: weakref.WeakKeyDictionary[Engine, _Chainer] = weakref.WeakKeyDictionary()
_CHAINERS_LOCK = threading.Lock()


def _chainer(engine: Engine) -> _Chainer:
    with _CHAINERS_LOCK:
        chainer = _CHAINERS.get(engine)
        if chainer is None:
            chainer = _CHAINERS[engine] = _Chainer()
        return chainer


def chain_after_commit(engine: Engine) -> None:
    """Return once the events of the unit of work that just committed are chained (leader/follower:
    the first caller runs a pass for everyone who committed before it started, the others wait)."""
    chainer = _chainer(engine)
    with chainer.changed:
        chainer.committed += 1
        mine = chainer.committed
    while True:
        with chainer.changed:
            if chainer.chained >= mine:
                return
        if not chainer.running.acquire(blocking=False):
            with chainer.changed:
                chainer.changed.wait_for(lambda: chainer.chained >= mine, timeout=0.05)
            continue
        try:
            with chainer.changed:
                target = chainer.committed
            _chain_all(engine)
        except Exception:
            # The events are committed and wait in audit_pending; the next pass chains them. The
            # change itself succeeded, so its answer must not turn into an error here.
            log.exception("chaining audit events failed; they stay pending until the next pass")
            return
        finally:
            chainer.running.release()
        with chainer.changed:
            chainer.chained = max(chainer.chained, target)
            chainer.changed.notify_all()
