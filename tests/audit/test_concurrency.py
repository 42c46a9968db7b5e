"""Eight writers at once keep one gap-free, verifiable order (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from strongroom.actors import Actor, ActorKind
from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.audit.helpers import checkpoint, verify_db, write_events

WRITERS = 8
PER_WRITER = 25


def test_concurrent_writers_get_one_gap_free_chain(runtime: Runtime) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            start.wait()
            actor = Actor(kind=ActorKind.USER, id=f"us_writer{n}", label=f"writer{n}@force.police.test")
            write_events(runtime, PER_WRITER, item_id=f"fi_{n}", actor=actor)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    checkpoint(runtime)  # a checkpoint taken while writers are busy must still be consistent
    for t in threads:
        t.join()
    assert errors == []
    with transaction(runtime.sessions) as session:
        seqs = list(session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars())
        per_writer = dict(
            session.execute(select(AuditEvent.actor_id, func.count()).group_by(AuditEvent.actor_id)).all()
        )
    assert seqs == list(range(1, WRITERS * PER_WRITER + 1))
    assert set(per_writer.values()) == {PER_WRITER}
    checkpoint(runtime)
    report = verify_db(runtime)
    assert report.ok, [str(p) for p in report.problems]
    assert report.checkpoints_verified >= 1


def test_a_rolled_back_transaction_leaves_no_gap(runtime: Runtime) -> None:
    from strongroom.audit.events import AuditAction, record

    write_events(runtime, 2)
    try:
        with transaction(runtime.sessions) as session:
            record(session, Actor.system(), AuditAction.KEYS_ROTATED, at=runtime.clock.now())
            session.flush()
            raise RuntimeError("the change failed")  # noqa: TRY301 - the point of the test
    except RuntimeError:
        pass
    write_events(runtime, 1)
    with transaction(runtime.sessions) as session:
        assert list(session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars()) == [1, 2, 3]
        assert (
            session.execute(select(func.count()).where(AuditEvent.action == "storage.key.rotated")).scalar()
            == 0
        )
