"""Audit trail benchmarks: append rate with 8 writers, offline verification of 1,000,000 events, and
the custody report of an item with 10,000 events.

    .venv/bin/python bench/bench_audit.py                       # SQLite in a temp dir
    .venv/bin/python bench/bench_audit.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit
    .venv/bin/python bench/bench_audit.py --verify-events 100000 --custody-events 2000   # quicker

Targets (issue 4): >= 5,000 events/s appended by 8 writers; 1,000,000 events verified in < 60 s; the
custody report of a 10,000-event item in < 2 s. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import chain, custody, custody_verify, verify, witness
from strongroom.audit.checkpoints import latest
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.sequencer import hashed_fields
from strongroom.audit.trust import Trust
from strongroom.config import Settings
from strongroom.db.migrate import upgrade
from strongroom.db.session import transaction
from strongroom.runtime import Runtime

ACTOR = Actor(
    kind=ActorKind.USER, id="us_bench", label="bench@force.police.test", origin=Origin(ip="10.1.2.3")
)


def runtime_for(data_dir: Path, url: str | None) -> Runtime:
    database = {"url": url} if url else {}
    settings = Settings(dev_mode=True, data_dir=data_dir, secret_key="bench", database=database)  # type: ignore[arg-type]
    runtime = Runtime.build(settings)
    upgrade(runtime.engine)
    return runtime


def bench_append(runtime: Runtime, *, writers: int, transactions: int, per_transaction: int) -> float:
    def work(n: int) -> None:
        for t in range(transactions):
            with transaction(runtime.sessions) as session:
                for e in range(per_transaction):
                    record(
                        session,
                        ACTOR,
                        AuditAction.CONTENT_READ,
                        item=ItemRef("file", f"fi_w{n}", "clip.mp4"),
                        details={"t": t, "e": e},
                        at=runtime.clock.now(),
                    )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return writers * transactions * per_transaction / (time.perf_counter() - start)


def write_synthetic_export(path: Path, count: int) -> None:
    """An export of `count` events made directly with the chain code (no database), as the server writes it."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    prev = chain.GENESIS_HASH
    with path.open("w", encoding="utf-8") as out:
        out.write(
            chain.canonical_json({"$type": "header", "format": "strongroom-audit-export", "after_seq": 0})
            + "\n"
        )
        for seq in range(1, count + 1):
            fields = {
                "occurred_at": base + timedelta(milliseconds=seq),
                "actor_kind": "user",
                "actor_id": "us_bench",
                "actor_label": "bench@force.police.test",
                "ip": "10.1.2.3",
                "user_agent": "bench",
                "action": "content.version.read",
                "item_kind": "file",
                "item_id": f"fi_{seq % 997}",
                "item_name": "clip.mp4",
                "details": chain.canonical_json({"range": [0, seq], "via": "api"}),
                "reason": None,
            }
            event = hashed_fields(seq, fields, prev)
            prev = chain.chain_hash(prev, chain.event_payload(event))
            out.write(chain.canonical_json({**event, "hash": prev}) + "\n")
        out.write(chain.canonical_json({"$type": "end", "events": count, "last_seq": count}) + "\n")


def bench_verify(directory: Path, count: int) -> tuple[float, bool]:
    path = directory / "synthetic.jsonl"
    write_synthetic_export(path, count)
    start = time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        report = verify.verify_export(lines, trust=Trust.of([b"\0" * 32]))
    return time.perf_counter() - start, report.ok and report.events == count


def bench_custody(runtime: Runtime, events: int) -> float:
    batch = 1000
    for start in range(0, events, batch):
        with transaction(runtime.sessions) as session:
            for n in range(start, min(events, start + batch)):
                record(session, ACTOR, AuditAction.CONTENT_READ, item=ItemRef("file", "fi_custody", "bwv.mp4"),
                       details={"n": n}, at=runtime.clock.now())  # fmt: skip
    keys = runtime.audit_key
    witness.checkpoint_now(
        runtime.sessions,
        settings=runtime.settings,
        sign=keys.sign,
        public_key=keys.public_key(),
        clock=runtime.clock,
    )
    start_time = time.perf_counter()
    with transaction(runtime.sessions) as session:
        item = custody.ItemFacts("fi_custody", "bwv.mp4", "file", "OFFICIAL", exists=True)
        bundle = custody.build_bundle(
            session, item=item, checkpoint=latest(session), public_key=keys.public_key()
        )
    pdf = custody.render_pdf(
        item=item, versions=[], bundle=bundle, generated_at=runtime.clock.now(), generated_by="bench"
    )
    elapsed = time.perf_counter() - start_time
    assert pdf.startswith(b"%PDF")
    assert custody_verify.verify_bundle(bundle, trust=Trust.of([keys.public_key()])).problems == []
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", help="PostgreSQL URL of an empty database to use as well")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=50)
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument("--custody-events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        targets = [("sqlite", None)] + ([("postgresql", args.pg)] if args.pg else [])
        for name, url in targets:
            runtime = runtime_for(directory / name, url)
            for per in (1, 10, 50, 100):
                rate = bench_append(
                    runtime, writers=args.writers, transactions=args.transactions, per_transaction=per
                )
                print(
                    f"append {name}: {args.writers} writers, {per} event(s)/transaction: {rate:,.0f} events/s"
                )
            print(
                f"custody {name}: {args.custody_events} events -> PDF + proofs in {bench_custody(runtime, args.custody_events):.2f} s"
            )
            runtime.close()
        seconds, ok = bench_verify(directory, args.verify_events)
        print(
            f"verify: {args.verify_events:,} events in {seconds:.1f} s ({args.verify_events / seconds:,.0f}/s), ok={ok}"
        )


if __name__ == "__main__":
    main()
