"""Many writers share commits and chaining batches, and nothing is lost or forked on the way
(SQLite and PostgreSQL): events committed but not chained (a crash between the two) are chained by
the next pass, in order, with no gap; a failing unit of work in a shared commit leaves the others alone;
the stored Merkle tiles give exactly the tree and proofs that the whole log gives."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import func, insert, select

from strongroom.actors import Actor, ActorKind
from strongroom.audit import chain, checkpoints, sequencer, tiles
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.models import AuditEvent, PendingAuditEvent
from strongroom.config import Settings
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.audit.helpers import checkpoint, pending_event_row, verify_db, write_events

WRITERS = 8


def _log(runtime: Runtime) -> list[tuple[int, str, str, str | None]]:
    with transaction(runtime.sessions) as session:
        return [
            (row.seq, row.prev_hash, row.hash, row.actor_id)
            for row in session.execute(
                select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.actor_id).order_by(
                    AuditEvent.seq
                )
            )
        ]


def _pending(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return sequencer.pending_count(session)


def test_writers_at_one_event_per_request_get_one_chain_without_gaps_or_forks(runtime: Runtime) -> None:
    per_writer = 30
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            start.wait()
            actor = Actor(kind=ActorKind.USER, id=f"us_w{n}", label=f"w{n}@force.police.test")
            write_events(runtime, per_writer, item_id=f"fi_{n}", actor=actor)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    log = _log(runtime)
    assert [seq for seq, *_ in log] == list(range(1, WRITERS * per_writer + 1))
    assert all(log[i][1] == log[i - 1][2] for i in range(1, len(log)))  # one line, no fork
    assert len({actor for *_, actor in log}) == WRITERS
    assert _pending(runtime) == 0  # every answered request's event is chained
    checkpoint(runtime)
    report = verify_db(runtime)
    assert report.ok, [str(p) for p in report.problems]


def test_events_committed_before_a_crash_are_chained_after_the_restart(
    runtime: Runtime, settings: Settings
) -> None:
    write_events(runtime, 3)
    # What a process that died between commit and chaining leaves: committed, unchained events.
    with transaction(runtime.sessions) as session:
        session.execute(
            insert(PendingAuditEvent), [pending_event_row(runtime.clock.now(), n=n) for n in range(5)]
        )
    assert _pending(runtime) == 5
    assert len(_log(runtime)) == 3
    restarted = Runtime.build(settings)
    try:
        write_events(restarted, 1, item_id="fi_after")  # the next event after a restart chains them all
        log = _log(restarted)
        assert [seq for seq, *_ in log] == list(range(1, 10))
        assert [actor for *_, actor in log[3:8]] == ["us_crashed"] * 5  # in the order they committed
        assert _pending(restarted) == 0
        checkpoint(restarted)
        report = verify_db(restarted)
        assert report.ok, [str(p) for p in report.problems]
    finally:
        restarted.close()


def test_a_checkpoint_chains_what_is_pending_first(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            insert(PendingAuditEvent), [pending_event_row(runtime.clock.now(), n=n) for n in range(4)]
        )
    made = checkpoint(runtime)
    assert made is not None
    assert made["tree_size"] == 4
    assert _pending(runtime) == 0


def test_a_failing_unit_of_work_leaves_the_others_in_its_commit_alone(runtime: Runtime) -> None:
    rounds = 20
    start = threading.Barrier(WRITERS)
    outcomes: list[str] = []

    def writer(n: int) -> None:
        start.wait()
        for r in range(rounds):
            try:
                with transaction(runtime.sessions) as session:
                    record(
                        session,
                        Actor(kind=ActorKind.USER, id=f"us_w{n}", label=f"w{n}@force.police.test"),
                        AuditAction.CONTENT_READ,
                        item=ItemRef("file", f"fi_{n}_{r}"),
                        at=runtime.clock.now(),
                    )
                    session.flush()
                    if n == 0:
                        raise RuntimeError("this change failed")  # noqa: TRY301 - the point of the test
                outcomes.append("ok")
            except RuntimeError:
                outcomes.append("failed")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("failed") == rounds
    log = _log(runtime)
    assert len(log) == (WRITERS - 1) * rounds
    assert "us_w0" not in {actor for *_, actor in log}
    assert [seq for seq, *_ in log] == list(range(1, len(log) + 1))


@pytest.mark.parametrize("steps", [[1] * 40, [3, 16, 17, 200, 1, 255, 33], [300, 1, 3794, 1, 15]])
def test_stored_tiles_give_the_whole_logs_tree_and_proofs(runtime: Runtime, steps: list[int]) -> None:
    for count in steps:  # chained in passes of these sizes, so tiles complete at every offset
        with transaction(runtime.sessions) as session:
            session.execute(
                insert(PendingAuditEvent), [pending_event_row(runtime.clock.now(), n=n) for n in range(count)]
            )
            assert sequencer.chain_pending(session.connection()) == count
    leaves = [chain.event_leaf(digest) for _, _, digest, _ in _log(runtime)]
    total = len(leaves)
    assert total == sum(steps)
    whole = chain.MerkleTree(leaves)
    with transaction(runtime.sessions) as session:
        for size in {1, 2, 15, 16, 17, 255, 256, 257, total - 1, total} & set(range(1, total + 1)):
            stored = tiles.TiledTree(session, size)
            assert stored.root() == whole.root(size)
            for index in {0, size // 2, size - 1}:
                assert stored.inclusion_proof(index, size) == whole.inclusion_proof(index, size)
            assert stored.consistency_proof(size // 2, size) == whole.consistency_proof(size // 2, size)


def test_a_pass_that_rolled_back_then_another_process_chaining_leave_the_proofs_right(
    runtime: Runtime, settings: Settings
) -> None:
    # A pass remembers the tree's right edge for this process's next one. A pass whose commit never
    # happened (a lost disk, say), then another process chaining other events to the same size, must
    # not make this process's next pass build on what the failed pass had chained.
    def chain_now(on: Runtime, count: int, *, first: int = 0, fail: bool = False) -> None:
        with transaction(on.sessions) as session:
            rows = [pending_event_row(on.clock.now(), n=n) for n in range(first, first + count)]
            session.execute(insert(PendingAuditEvent), rows)
            sequencer.chain_pending(session.connection())
            if fail:
                raise RuntimeError("the commit did not happen")

    chain_now(runtime, 20)
    with pytest.raises(RuntimeError):
        chain_now(runtime, 7, first=100, fail=True)
    other = Runtime.build(settings)  # another process on the same database
    try:
        chain_now(other, 7)  # the same size the failed pass reached, other events
    finally:
        other.close()
    chain_now(runtime, 5)
    leaves = [chain.event_leaf(digest) for _, _, digest, _ in _log(runtime)]
    assert len(leaves) == 32
    whole = chain.MerkleTree(leaves)
    with transaction(runtime.sessions) as session:
        for size in range(1, 33):
            stored = tiles.TiledTree(session, size)
            assert stored.root() == whole.root(size)
            assert stored.inclusion_proof(size - 1, size) == whole.inclusion_proof(size - 1, size)


def test_inclusion_proofs_from_tiles_verify_against_a_signed_checkpoint(runtime: Runtime) -> None:
    write_events(runtime, 37)
    made = checkpoint(runtime)
    assert made is not None
    with transaction(runtime.sessions) as session:
        size = int(made["tree_size"])  # type: ignore[call-overload]
        for seq in (1, 16, 17, 37):
            proof = checkpoints.inclusion_proof(session, seq=seq, tree_size=size)
            assert proof.root_hash == made["root_hash"]
            assert chain.verify_inclusion(
                seq - 1,
                size,
                chain.event_leaf(proof.event_hash),
                [bytes.fromhex(p) for p in proof.audit_path],
                bytes.fromhex(proof.root_hash),
            )
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == size


@pytest.mark.parametrize("steps", [[300, 1, 3794, 1, 15]])
def test_custody_proofs_as_hex_match_the_whole_logs_proofs_for_every_leaf(
    runtime: Runtime, steps: list[int]
) -> None:
    # The custody bundle's proofs (tiles read in a few queries, then a path without the general
    # recursion) must be exactly RFC 6962's, for leaves under complete and partial tiles alike.
    for count in steps:
        with transaction(runtime.sessions) as session:
            session.execute(
                insert(PendingAuditEvent), [pending_event_row(runtime.clock.now(), n=n) for n in range(count)]
            )
            sequencer.chain_pending(session.connection())
    leaves = [chain.event_leaf(digest) for _, _, digest, _ in _log(runtime)]
    whole = chain.MerkleTree(leaves)
    with transaction(runtime.sessions) as session:
        for size in (1, 2, 17, 256, 4097, len(leaves) - 1, len(leaves)):
            stored = tiles.TiledTree(session, size)
            stored.prefetch(range(0, size, 7))
            expected = [[node.hex() for node in whole.inclusion_proof(index, size)] for index in range(size)]
            for index in range(size):
                assert stored.inclusion_path_hex(index, size) == expected[index], (index, size)
            # Many at once share the steps of the proof before: right in any order, repeats included.
            mixed = random.Random(size).choices(range(size), k=min(size, 500))
            for order in (range(size), range(size - 1, -1, -1), mixed):
                got = list(stored.inclusion_paths_hex(order, size))
                assert got == [expected[index] for index in order], size
