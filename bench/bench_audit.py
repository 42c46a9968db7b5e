"""Audit trail benchmarks (issue 14): append rate with 8 writers at one event per request, offline
verification of 1,000,000 events, and the custody report of an item with 10,000 events in a large log.

    .venv/bin/python bench/bench_audit.py                       # SQLite in a temp dir
    .venv/bin/python bench/bench_audit.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit
    .venv/bin/python bench/bench_audit.py --log-events 1000000 --custody-events 10000 --only custody

Targets: >= 5,000 events/s appended by 8 writers at one event per request (transaction); 1,000,000
events verified in <= 20 s; the custody report (bundle with every inclusion proof) of a 10,000-event
item in a log of 10,000,000 in <= 2 s. The custody log is generated synthetically by bulk inserts
(events, tiles and one signed checkpoint, exactly as the sequencer would write them). Figures are
printed with the process's CPU time and the load average, never asserted. The 10,000,000-event log
is built once with COPY and kept in its own PostgreSQL database: bench/bench_audit_10m.py.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, text

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import chain, checkpoints, custody, custody_verify, tiles, verify
from strongroom.audit.checkpoints import latest
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.models import AuditEvent, AuditHead, Checkpoint, table_of
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


# A table outside the app's schema: the baseline unit of work writes one row here and records nothing.
_PLAIN_ROWS = Table(
    "bench_plain_row",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("writer", String(16), nullable=False),
    Column("n", Integer, nullable=False),
)


def bench_append(
    runtime: Runtime, *, writers: int, transactions: int, per_transaction: int, plain_rows: bool = False
) -> tuple[float, float]:
    """Events per second, and the process's CPU microseconds per event. With `plain_rows`, the same
    units of work write one row each into a table of their own and record no event: what a one-row
    transaction costs this process before the audit trail adds anything."""

    def work(n: int) -> None:
        for t in range(transactions):
            with transaction(runtime.sessions) as session:
                if plain_rows:
                    session.execute(insert(_PLAIN_ROWS).values(writer=f"w{n}", n=t))
                    continue
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
    start, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = writers * transactions * per_transaction
    return events / (time.perf_counter() - start), (time.process_time() - cpu) / events * 1e6


def server_cpu_seconds(runtime: Runtime) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL backends serving this database so far; None on
    SQLite. The server shares the machine's cores with the client, so its cost per event counts too.
    Read from /proc (same machine); backends that exit are lost, the pool keeps them alive."""
    if runtime.engine.dialect.name != "postgresql":
        return None
    with runtime.engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (after pid, comm and state)
    return total / os.sysconf("SC_CLK_TCK")


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


def bench_verify(directory: Path, count: int) -> tuple[float, float, bool]:
    """Wall seconds, CPU seconds, and whether the export verified."""
    path = directory / "synthetic.jsonl"
    write_synthetic_export(path, count)
    start, cpu = time.perf_counter(), time.process_time()
    with path.open(encoding="utf-8") as lines:
        report = verify.verify_export(lines, trust=Trust.of([b"\0" * 32]))
    return time.perf_counter() - start, time.process_time() - cpu, report.ok and report.events == count


def generate_log(runtime: Runtime, *, total: int, item_events: int, item_id: str) -> None:
    """A log of `total` events, every (total // item_events)-th about `item_id`, bulk inserted with
    its tiles, head and one signed checkpoint over all of it."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    every = max(1, total // item_events)
    prev, frontier, rows, leaves, done = chain.GENESIS_HASH, chain.CompactRange(), [], [], 0
    events = table_of(AuditEvent)
    with runtime.engine.connect() as connection:
        for seq in range(1, total + 1):
            fields = {
                "occurred_at": base + timedelta(milliseconds=seq),
                "actor_kind": "user",
                "actor_id": "us_bench",
                "actor_label": "bench@force.police.test",
                "ip": "10.1.2.3",
                "user_agent": "bench",
                "action": "content.version.read",
                "item_kind": "file",
                "item_id": item_id if seq % every == 0 else f"fi_{seq % 997}",
                "item_name": "clip.mp4",
                "details": chain.canonical_json({"range": [0, seq], "via": "api"}),
                "reason": None,
            }
            digest = chain.chain_hash(prev, chain.event_payload(hashed_fields(seq, fields, prev)))
            rows.append({**fields, "seq": seq, "prev_hash": prev, "hash": digest})
            leaf = chain.event_leaf(digest)
            leaves.append(leaf)
            frontier.append(leaf)
            prev = digest
            if len(rows) == 20_000 or seq == total:
                connection.execute(insert(events), rows)
                tiles.append_leaves(connection, old_size=done, leaves=leaves)
                connection.commit()
                done, rows, leaves = seq, [], []
        connection.execute(delete(table_of(AuditHead)))
        connection.execute(insert(table_of(AuditHead)).values(id=1, seq=total, hash=prev))
        keys, created = runtime.audit_key, runtime.clock.now()
        root = frontier.root().hex()
        origin = "bench"
        note = checkpoints.note(origin=origin, tree_size=total, root_hash=root, created_at=created)
        connection.execute(
            insert(table_of(Checkpoint)).values(
                tree_size=total, root_hash=root, head_hash=prev, origin=origin, created_at=created,
                key_id=checkpoints.key_id(keys.public_key()), public_key=keys.public_key().hex(),
                signature=keys.sign(note).hex(), frontier=json.dumps([n.hex() for n in frontier.nodes]),
            )
        )  # fmt: skip
        connection.commit()


def bench_custody(runtime: Runtime, item_id: str) -> dict[str, float]:
    """Seconds to build the bundle (events + every inclusion proof), to render the PDF, to verify."""
    keys = runtime.audit_key
    start, cpu = time.perf_counter(), time.process_time()
    with transaction(runtime.sessions) as session:
        item = custody.ItemFacts(item_id, "bwv.mp4", "file", "OFFICIAL", exists=True)
        bundle = custody.build_bundle(
            session, item=item, checkpoint=latest(session), public_key=keys.public_key()
        )
    built, built_cpu = time.perf_counter(), time.process_time()
    pdf = custody.render_pdf(
        item=item, versions=[], bundle=bundle, generated_at=runtime.clock.now(), generated_by="bench"
    )
    rendered = time.perf_counter()
    assert pdf.startswith(b"%PDF")
    verdict = custody_verify.verify_bundle(bundle, trust=Trust.of([keys.public_key()]))
    assert verdict.problems == [], verdict.problems[:3]
    return {
        "events": len(bundle["events"]),
        "bundle_s": built - start,
        "bundle_cpu_s": built_cpu - cpu,
        "pdf_s": rendered - built,
        "verify_s": time.perf_counter() - rendered,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", help="PostgreSQL URL of an empty database to use as well")
    parser.add_argument("--only", choices=["append", "custody", "verify"], action="append")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1, help="append runs per figure (after the warm-up)")
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument("--log-events", type=int, default=1_000_000)
    parser.add_argument("--custody-events", type=int, default=10_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    only = set(args.only or ["append", "custody", "verify"])
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        targets = ([] if args.skip_sqlite else [("sqlite", None)]) + (
            [("postgresql", args.pg)] if args.pg else []
        )
        for name, url in targets:
            if "append" in only:
                runtime = runtime_for(directory / f"{name}-append", url)
                bench_append(runtime, writers=args.writers, transactions=10, per_transaction=1)  # warm-up
                _PLAIN_ROWS.create(runtime.engine, checkfirst=True)
                for _ in range(args.repeat):
                    server = server_cpu_seconds(runtime)
                    rate, cpu = bench_append(
                        runtime,
                        writers=args.writers,
                        transactions=args.transactions,
                        per_transaction=1,
                        plain_rows=True,
                    )
                    after = server_cpu_seconds(runtime)
                    on_server = (
                        f", server {(after - server) / (args.writers * args.transactions) * 1e6:,.0f} CPU-us/unit"
                        if server is not None and after is not None
                        else ""
                    )
                    print(
                        f"baseline {name}: {args.writers} writers, one plain row and no event per request:"
                        f" {rate:,.0f} requests/s, {cpu:,.0f} CPU-us/request{on_server} (load {os.getloadavg()[0]:.1f})"
                    )
                for per in [1] * args.repeat + [10] * args.repeat:
                    server = server_cpu_seconds(runtime)
                    rate, cpu = bench_append(
                        runtime, writers=args.writers, transactions=args.transactions, per_transaction=per
                    )
                    after = server_cpu_seconds(runtime)
                    events = args.writers * args.transactions * per
                    on_server = (
                        f", server {(after - server) / events * 1e6:,.0f} CPU-us/event"
                        if server is not None and after is not None
                        else ""
                    )
                    print(
                        f"append {name}: {args.writers} writers, {per} event(s)/request: {rate:,.0f} events/s,"
                        f" {cpu:,.0f} CPU-us/event{on_server} (load {os.getloadavg()[0]:.1f})"
                    )
                runtime.close()
            if "custody" in only:
                if url:
                    runtime = runtime_for(directory / f"{name}-custody", url)
                    runtime.close()
                runtime = runtime_for(directory / f"{name}-custody", url)
                start = time.perf_counter()
                generate_log(
                    runtime, total=args.log_events, item_events=args.custody_events, item_id="fi_custody"
                )
                print(
                    f"custody {name}: generated {args.log_events:,} events in {time.perf_counter() - start:.0f} s"
                )
                for _ in range(2):  # the first run reads the tiles from disk, the second from the cache
                    figures = bench_custody(runtime, "fi_custody")
                    print(
                        f"custody {name}: item with {figures['events']:,} events in a log of {args.log_events:,}:"
                        f" bundle + proofs {figures['bundle_s']:.2f} s ({figures['bundle_cpu_s']:.2f} s CPU),"
                        f" PDF {figures['pdf_s']:.2f} s,"
                        f" offline check {figures['verify_s']:.2f} s (load {os.getloadavg()[0]:.1f})"
                    )
                runtime.close()
        if "verify" in only:
            seconds, cpu, ok = bench_verify(directory, args.verify_events)
            print(
                f"verify: {args.verify_events:,} events in {seconds:.1f} s wall, {cpu:.1f} s CPU"
                f" ({args.verify_events / cpu:,.0f} events per CPU-second), ok={ok} (load {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    main()
