"""The custody report in a log of 10,000,000 events (issue 14), on a PostgreSQL database kept between runs.

    .venv/bin/python bench/bench_audit_10m.py generate   # once: ~10 min CPU, ~6 GB, database audit_10m
    .venv/bin/python bench/bench_audit_10m.py measure    # bundle + PDF of the 10,000-event item, 3 runs

Generating 10,000,000 chained events cannot be done in SQL alone (each hash covers the one before),
so one streaming pass in Python hashes them, builds the Merkle tiles as it goes and feeds both to
PostgreSQL with COPY (the secondary indexes are dropped during the load and rebuilt after, with the
definitions the migrations gave them). The payload each hash covers is written from a template for
speed; every 10,000th event it is checked byte for byte against chain.event_payload, and `measure`
verifies the whole custody bundle (every event's hash and inclusion proof against the signed root,
which is computed independently of the tiles), so a wrong hash or tile cannot go unnoticed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import UTC, datetime, timedelta

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine

from strongroom.audit import chain, checkpoints, custody, custody_verify
from strongroom.audit.checkpoints import latest
from strongroom.audit.sequencer import hashed_fields
from strongroom.audit.tiles import TILE_WIDTH
from strongroom.audit.trust import Trust
from strongroom.db.migrate import upgrade
from strongroom.db.session import make_session_factory, transaction
from strongroom.storage.key_providers.signing_file import public_bytes

DATABASE = "audit_10m"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ITEM = "fi_custody"
BASE = datetime(2026, 1, 1, tzinfo=UTC)
COLUMNS = (
    "seq, occurred_at, actor_kind, actor_id, actor_label, ip, user_agent, action, item_kind, item_id,"
    " item_name, details, reason, prev_hash, hash"
)
# canonical_json of hashed_fields(...) for these events: keys sorted, no spaces (checked in _payload).
_TEMPLATE = (
    '{{"action":"content.version.read","actor_id":"us_bench","actor_kind":"user",'
    '"actor_label":"bench@force.police.test","details":"{{\\"range\\":[0,{seq}],\\"via\\":\\"api\\"}}",'
    '"ip":"10.1.2.3","item_id":"{item}","item_kind":"file","item_name":"clip.mp4",'
    '"occurred_at":"{at}","prev_hash":"{prev}","reason":null,"seq":{seq},"user_agent":"bench"}}'
)


def _fields(seq: int, item: str, at: datetime) -> dict[str, object]:
    return {
        "occurred_at": at, "actor_kind": "user", "actor_id": "us_bench",
        "actor_label": "bench@force.police.test", "ip": "10.1.2.3", "user_agent": "bench",
        "action": "content.version.read", "item_kind": "file", "item_id": item, "item_name": "clip.mp4",
        "details": chain.canonical_json({"range": [0, seq], "via": "api"}), "reason": None,
    }  # fmt: skip


def _url(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


class _Tiles:
    """Level by level, the nodes of each rightmost tile: a complete one is a row, and its root goes up."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = []
        self.stored: list[int] = []  # complete tiles per level so far
        self.rows: list[bytes] = []  # COPY lines of audit_tile

    def add(self, level: int, node: bytes) -> None:
        if level == len(self.levels):
            self.levels.append([])
            self.stored.append(0)
        nodes = self.levels[level]
        nodes.append(node)
        if len(nodes) == TILE_WIDTH:
            raw = b"".join(nodes)
            self.rows.append(f"{level}\t{self.stored[level]}\t\\\\x{raw.hex()}\n".encode())
            self.stored[level] += 1
            nodes.clear()
            self.add(level + 1, _perfect_root(raw))


def _perfect_root(raw: bytes) -> bytes:
    level = raw
    while len(level) > chain.HASH_SIZE:
        level = b"".join(
            chain.node_hash(level[i : i + 32], level[i + 32 : i + 64]) for i in range(0, len(level), 64)
        )
    return level


def generate(database: str, total: int, item_events: int) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP database IF EXISTS {database}")
        admin.execute(f"CREATE database {database}")
    engine = create_engine(_url(database))
    upgrade(engine)
    engine.dispose()
    every = max(1, total // item_events)
    start, cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as connection:
        indexes = connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_event'"
            " AND indexname <> 'pk_audit_event' AND indexname NOT LIKE '%pkey'"
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f"DROP INDEX {name}")
        prev, frontier, tree = chain.GENESIS_HASH, chain.CompactRange(), _Tiles()
        with connection.cursor().copy(f"COPY audit_event ({COLUMNS}) FROM STDIN") as copy:
            lines: list[str] = []
            for seq in range(1, total + 1):
                item = ITEM if seq % every == 0 else f"fi_{seq % 997}"
                at = BASE + timedelta(milliseconds=seq)
                iso = at.isoformat(timespec="microseconds")
                payload = _TEMPLATE.format(seq=seq, item=item, at=iso, prev=prev).encode()
                if seq % 10_000 == 1:
                    assert payload == chain.event_payload(hashed_fields(seq, _fields(seq, item, at), prev))
                digest = chain.chain_hash(prev, payload)
                lines.append(
                    f"{seq}\t{iso}\tuser\tus_bench\tbench@force.police.test\t10.1.2.3\tbench\t"
                    f'content.version.read\tfile\t{item}\tclip.mp4\t{{"range":[0,{seq}],"via":"api"}}\t'
                    f"\\N\t{prev}\t{digest}\n"
                )
                leaf = chain.event_leaf(digest)
                frontier.append(leaf)
                tree.add(0, leaf)
                prev = digest
                if len(lines) == 5000:
                    copy.write("".join(lines))
                    lines.clear()
                if seq % 1_000_000 == 0:
                    print(f"  {seq:,} events, {time.perf_counter() - start:.0f} s", flush=True)
            copy.write("".join(lines))
        with connection.cursor().copy("COPY audit_tile (level, idx, hashes) FROM STDIN") as copy:
            for row in tree.rows:
                copy.write(row)
        print(f"  loaded in {time.perf_counter() - start:.0f} s, rebuilding indexes", flush=True)
        connection.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            connection.execute(definition)
        key = Ed25519PrivateKey.generate()  # the checkpoint carries its public key; measure trusts that
        created, root, origin = datetime.now(UTC), frontier.root().hex(), "bench"
        note = checkpoints.note(origin=origin, tree_size=total, root_hash=root, created_at=created)
        connection.execute("DELETE FROM audit_head")
        connection.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, %s, %s)", (total, prev))
        connection.execute(
            "INSERT INTO audit_checkpoint (tree_size, root_hash, head_hash, origin, created_at, key_id,"
            " public_key, signature, frontier) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (total, root, prev, origin, created, checkpoints.key_id(public_bytes(key)),
             public_bytes(key).hex(), key.sign(note).hex(), json.dumps([n.hex() for n in frontier.nodes])),
        )  # fmt: skip
        connection.commit()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}", autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE audit_event")
        connection.execute("VACUUM ANALYZE audit_tile")
    print(
        f"generated {total:,} events ({item_events:,} about {ITEM}) in {time.perf_counter() - start:.0f} s,"
        f" {time.process_time() - cpu:.0f} s CPU in this process"
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(database: str, runs: int, pdf_renders: int = 1) -> None:
    engine = create_engine(_url(database))
    sessions = make_session_factory(engine)
    print(f"load average at start: {os.getloadavg()}")
    for run in range(runs):
        start, cpu = time.perf_counter(), _cpu()
        with transaction(sessions) as session:
            checkpoint = latest(session)
            assert checkpoint is not None
            public_key = bytes.fromhex(checkpoint.public_key)
            item = custody.ItemFacts(ITEM, "bwv.mp4", "file", "OFFICIAL", exists=True)
            bundle = custody.build_bundle(session, item=item, checkpoint=checkpoint, public_key=public_key)
        built, built_cpu = time.perf_counter(), _cpu()
        pdf = custody.render_pdf(
            item=item, versions=[], bundle=bundle, generated_at=datetime.now(UTC), generated_by="bench"
        )
        rendered, rendered_cpu = time.perf_counter(), _cpu()
        if pdf_renders > 1:  # the same bundle drawn again: the least CPU of them (a noisy host)
            again = [_render_cpu(item, bundle) for _ in range(pdf_renders - 1)]
            print(f"  PDF again x{len(again)}: least {min(again):.3f} s CPU", flush=True)
        assert pdf.startswith(b"%PDF")
        checking = time.perf_counter()
        verdict = custody_verify.verify_bundle(bundle, trust=Trust.of([public_key]))
        assert verdict.problems == [], verdict.problems[:3]
        print(
            f"run {run + 1}: {len(bundle['events']):,} events of {checkpoint.tree_size:,}:"
            f" bundle + proofs {built - start:.2f} s ({built_cpu - cpu:.2f} s CPU),"
            f" PDF {rendered - built:.2f} s ({rendered_cpu - built_cpu:.2f} s CPU, {len(pdf) // 1024} KiB),"
            f" offline check {time.perf_counter() - checking:.2f} s, verified (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    engine.dispose()


def _render_cpu(item: custody.ItemFacts, bundle: dict[str, object]) -> float:
    cpu = _cpu()
    custody.render_pdf(
        item=item, versions=[], bundle=bundle, generated_at=datetime.now(UTC), generated_by="bench"
    )
    return _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["generate", "measure"])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--item-events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pdf-renders", type=int, default=1, help="draw each run's PDF this many times")
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database (dropped by generate)")
    args = parser.parse_args()
    if args.action == "generate":
        generate(args.database, args.events, args.item_events)
    else:
        measure(args.database, args.runs, args.pdf_renders)


if __name__ == "__main__":
    main()
