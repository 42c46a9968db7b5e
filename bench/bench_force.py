"""A force-sized PostgreSQL (issue 17): 50,000 users, 2,000 groups (each user in 50), 10,000,000 items in
folder trees 20 deep, a version per file, 1,000,000 grants; then the p95 and median of what a request
does to the database, through the service functions (goal: each <= 50 ms):

(a) a folder page of 100 and of 1000 items of a big folder (content.folders.list_items, as the REST and
    web doors list), at the start and in the middle;
(b) a permission check of a user in 50 groups on an item 20 deep (the actor's groups as a token or
    session resolves them, then access.loaders.access_item, which asks access.policy.can());
(c) starting an upload 20 deep (what a tus POST does before bytes flow: the open-upload caps, the
    permission check, the name look-up, the upload row and its audit event, committed).

    .venv/bin/python bench/bench_force.py --scale 0.01 [--runs 200] [--keep] [--reuse]

It builds its own database (`strongroom_force`, dropped at the end unless --keep; --reuse measures a
kept one again), at the schema `strongroom db upgrade` makes (Alembic), and fills it with set-based SQL
(INSERT ... SELECT generate_series): the secondary indexes and foreign keys are dropped for the load and
made again afterwards, as a restore does. Ids are random-looking (md5), like the app's. Then ANALYZE, as
autovacuum would. Prints the figures and the EXPLAIN (ANALYZE, BUFFERS) of each query the three
operations send.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item, ancestry
from strongroom.config import Settings
from strongroom.content import folders as content_folders
from strongroom.content import resumable_uploads, upload_caps
from strongroom.db.migrate import upgrade
from strongroom.db.session import transaction
from strongroom.identity import groups, users
from strongroom.identity.models import User
from strongroom.runtime import Runtime

DB = "strongroom_force"
FOLDERS_PER_USER = 20  # a chain 19 deep below the root, and one sibling: depth up to 20 (root = 1)
GROUPS_PER_USER = 50
LOADED = ("user", "user_group", "group_member", "item", "file_version", "grant")


def uid(expr: str) -> str:
    return f"('us_' || substr(md5('u' || ({expr})), 1, 22))"


def gid(expr: str) -> str:
    return f"('gr_' || substr(md5('g' || ({expr})), 1, 22))"


def rid(expr: str) -> str:
    return f"('fo_' || substr(md5('r' || ({expr})), 1, 22))"


def fid(user: str, j: str) -> str:
    return f"('fo_' || substr(md5('f' || ({user}) || '.' || ({j})), 1, 22))"


def file_id(expr: str) -> str:
    return f"('fi_' || substr(md5('i' || ({expr})), 1, 22))"


def ver_id(expr: str) -> str:
    return f"('ver_' || substr(md5('v' || ({expr})), 1, 22))"


class Shape:
    def __init__(self, scale: float) -> None:
        self.users = max(100, round(50_000 * scale))
        self.groups = max(100, round(2_000 * scale))
        self.items = max(10_000, round(10_000_000 * scale))
        self.grants = max(1_000, round(1_000_000 * scale))
        self.folders = self.users * FOLDERS_PER_USER
        self.files = self.items - self.users - self.folders
        self.big = max(2_000, self.items // 100)  # the files of user 0's first case folder

    def __str__(self) -> str:
        return (
            f"{self.users:,} users, {self.groups:,} groups ({GROUPS_PER_USER} per user), {self.items:,} items"
            f" ({self.users + self.folders:,} folders, {self.files:,} files with a version each; the big"
            f" folder {self.big:,}), {self.grants + 1:,} grants"
        )


def fill_statements(s: Shape) -> list[tuple[str, str]]:
    now = "now()"
    k = FOLDERS_PER_USER
    return [
        (
            "users",
            f"""
INSERT INTO "user" (id, email, email_key, display_name, is_admin, root_folder_id, created_at,
                    must_change_password, source, role, version)
SELECT {uid("u")}, 'officer' || u || '@force.police.test', 'officer' || u || '@force.police.test',
       'Officer ' || u, false, {rid("u")}, {now}, false, 'local', 'user', 1
FROM generate_series(0, {s.users - 1}) u""",
        ),
        (
            "groups",
            f"""
INSERT INTO user_group (id, name, name_key, created_at, source, version)
SELECT {gid("g")}, 'Team ' || g, 'team ' || g, {now}, 'local', 1 FROM generate_series(0, {s.groups - 1}) g""",
        ),
        (
            "group members",
            f"""
INSERT INTO group_member (group_id, user_id, added_at)
SELECT {gid(f"(u * 7 + m) % {s.groups}")}, {uid("u")}, {now}
FROM generate_series(0, {s.users - 1}) u, generate_series(0, {GROUPS_PER_USER - 1}) m""",
        ),
        (
            "root folders",
            f"""
INSERT INTO item (id, kind, sort_group, parent_id, owner_id, name, name_key, created_at, updated_at,
                  created_by_id, size, revision, classification)
SELECT {rid("u")}, 'folder', 0, NULL, {uid("u")}, 'All files', 'all files', {now}, {now}, {uid("u")}, 0, 1,
       'OFFICIAL'
FROM generate_series(0, {s.users - 1}) u""",
        ),
        (
            "folders",
            f"""
INSERT INTO item (id, kind, sort_group, parent_id, owner_id, name, name_key, created_at, updated_at,
                  created_by_id, size, revision, classification)
SELECT {fid("u", "j")}, 'folder', 0,
       CASE WHEN j = 0 THEN {rid("u")} WHEN j = {k - 1} THEN {fid("u", "0")} ELSE {fid("u", "j - 1")} END,
       {uid("u")}, 'Case ' || j, 'case ' || j, {now}, {now}, {uid("u")}, 0, 1, 'OFFICIAL'
FROM generate_series(0, {s.users - 1}) u, generate_series(0, {k - 1}) j""",
        ),
        (
            "files",
            f"""
INSERT INTO item (id, kind, sort_group, parent_id, owner_id, name, name_key, created_at, updated_at,
                  created_by_id, current_version_id, size, sha256, content_type, scan_status, revision,
                  classification)
SELECT {file_id("n")}, 'file', 1,
       CASE WHEN n < {s.big} THEN {fid("0", "0")} ELSE {fid(f"n % {s.users}", f"(n / {s.users}) % {k}")} END,
       CASE WHEN n < {s.big} THEN {uid("0")} ELSE {uid(f"n % {s.users}")} END,
       'exhibit-' || lpad(n::text, 8, '0') || '.jpg', 'exhibit-' || lpad(n::text, 8, '0') || '.jpg',
       {now}, {now}, NULL, {ver_id("n")}, 1000 + n % 5000000, md5('s' || n) || md5('t' || n), 'image/jpeg',
       'clean', 1, 'OFFICIAL'
FROM generate_series(0, {s.files - 1}) n""",
        ),
        (
            "versions",
            f"""
INSERT INTO file_version (id, file_id, number, size, sha256, content_type, blob_key, sealed_for_id,
                          segment_size, kek_id, wrapped_dek, created_at, created_by_label, scan_status,
                          is_legal_hold, scan_attempts)
SELECT {ver_id("n")}, {file_id("n")}, 1, 1000 + n % 5000000, md5('s' || n) || md5('t' || n), 'image/jpeg',
       md5('b' || n) || md5('c' || n), {ver_id("n")}, 1048576, 'bench',
       decode(md5('d' || n) || md5('e' || n) || md5('h' || n), 'hex'), {now}, 'officer@force.police.test',
       'clean', false, 0
FROM generate_series(0, {s.files - 1}) n""",
        ),
        (
            "grants",
            f"""
INSERT INTO "grant" (id, item_id, user_id, group_id, role, created_at)
SELECT 'gt_' || substr(md5('gt' || n), 1, 22),
       {fid(f"(n::bigint * 7919) % {s.users}", f"n % {k}")},
       CASE WHEN n % 5 = 0 THEN {uid(f"(n::bigint * 31) % {s.users}")} END,
       CASE WHEN n % 5 <> 0 THEN {gid(f"n % {s.groups}")} END,
       CASE WHEN n % 3 = 0 THEN 'editor' ELSE 'viewer' END, {now}
FROM generate_series(0, {s.grants - 1}) n
UNION ALL
SELECT 'gt_bench', {fid("0", "0")}, NULL, {gid("7")}, 'editor', {now}""",
        ),
    ]


def add_day_of_uploads(engine: Engine, shape: Shape) -> None:
    """tus_upload keeps a finished upload's row until it expires, a day on: a force's day of uploads
    (one for every 100 items, 100,000 at full size), nearly all finished, across all users."""
    uploads = shape.items // 100
    with engine.connect() as connection:
        if connection.scalar(text("SELECT count(*) FROM tus_upload")) >= uploads:
            return
        connection.exec_driver_sql(
            f"""
INSERT INTO tus_upload (id, created_by_id, folder_id, name, length, received, version_id, blob_key, blob_header,
                        kek_id, wrapped_dek, created_at, updated_at, expires_at, completed_at, file_id)
SELECT 'tus_' || substr(md5('tu' || n), 1, 22), {uid(f"n % {shape.users}")}, {fid(f"n % {shape.users}", "3")},
       'upload-' || n || '.mp4', 1000000, CASE WHEN n % 50 = 0 THEN 0 ELSE 1000000 END,
       'ver_' || substr(md5('tv' || n), 1, 22), md5('tb' || n) || md5('tc' || n), '\\x00'::bytea, 'bench',
       '\\x00'::bytea, now(), now(), now() + interval '1 day',
       CASE WHEN n % 50 = 0 THEN NULL ELSE now() END, NULL
FROM generate_series(0, {uploads - 1}) n""".replace("%", "%%")
        )
        connection.exec_driver_sql("ANALYZE tus_upload")
        connection.commit()


def schema_objects(connection: Connection) -> tuple[list[str], list[str], list[str]]:
    """(drop statements, re-create statements for keys and indexes, re-create statements for foreign keys)
    of the loaded tables."""
    tables = ", ".join(f"'public.\"{t}\"'::regclass" for t in LOADED)
    fks = connection.execute(
        text(f"""
        SELECT DISTINCT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE contype = 'f' AND (conrelid IN ({tables}) OR confrelid IN ({tables}))""")
    ).all()
    keys = connection.execute(
        text(f"""
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE contype IN ('p', 'u') AND conrelid IN ({tables})""")
    ).all()
    indexes = connection.execute(
        text(f"""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid IN ({tables})
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""")
    ).all()
    drops = [f"ALTER TABLE {t} DROP CONSTRAINT {n}" for t, n, _ in fks]
    drops += [f"ALTER TABLE {t} DROP CONSTRAINT {n}" for t, n, _ in keys]
    drops += [f"DROP INDEX {n}" for n, _ in indexes]
    makes = [f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}" for t, n, d in keys] + [d for _, d in indexes]
    foreign = [f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}" for t, n, d in fks]
    return drops, makes, foreign


def timed(label: str, action: Callable[[], object]) -> None:
    start = time.perf_counter()
    action()
    print(f"  {label}: {time.perf_counter() - start:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)


def fill(engine: Engine, shape: Shape) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        connection.exec_driver_sql("SET synchronous_commit = off")
        drops, makes, foreign = schema_objects(connection)
        for statement in drops:
            connection.exec_driver_sql(statement)
        connection.commit()
        for label, statement in fill_statements(shape):
            timed(
                label,
                lambda s=statement: (connection.exec_driver_sql(s.replace("%", "%%")), connection.commit()),
            )
        for statement in makes:
            timed(statement[:90], lambda s=statement: (connection.exec_driver_sql(s), connection.commit()))
        for statement in foreign:
            timed(statement[:90], lambda s=statement: (connection.exec_driver_sql(s), connection.commit()))
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        timed("VACUUM ANALYZE", lambda: connection.exec_driver_sql("VACUUM ANALYZE"))


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements the engine sends meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def listen(*args: Any) -> None:  # (conn, cursor, statement, parameters, context, executemany)
        seen.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def explain(engine: Engine, label: str, statements: list[tuple[str, Any]]) -> None:
    shown: set[str] = set()
    for statement, parameters in statements:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")) or statement in shown:
            continue
        shown.add(statement)
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
            connection.rollback()
        print(f"\n-- {label}: {' '.join(statement.split())[:300]}")
        print("\n".join(row[0] for row in plan))


def measure(engine: Engine, label: str, runs: int, action: Callable[[], object]) -> list[float]:
    """Wall times of `runs` calls (10 more first, discarded); prints median and p95 with this process's CPU
    time (steadier than wall on a busy machine) and the statements one call sends."""
    times, cpu = [], []
    for _ in range(runs + 10):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    times, cpu = times[10:], cpu[10:]  # warm-up discarded
    with captured(engine) as seen:
        action()
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "ok" if p95 <= 50 else "OVER the 50 ms goal"
    print(
        f"  {label:<55} median {statistics.median(times):6.2f} ms  p95 {p95:6.2f} ms  {verdict};"
        f" CPU median {statistics.median(cpu):5.2f} ms p95 {statistics.quantiles(cpu, n=20)[18]:5.2f} ms;"
        f" {len(seen)} statements  (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return times


def run_benchmarks(runtime: Runtime, shape: Shape, runs: int, *, statements: bool = False) -> None:
    engine = runtime.engine
    with engine.connect() as connection:
        officer = connection.scalar(text(f"SELECT {uid('1')}"))
        big = connection.scalar(text(f"SELECT {fid('0', '0')}"))
        deep = connection.scalar(text(f"SELECT {fid('0', '18')}"))
        deep_file = connection.scalar(
            text("SELECT id FROM item WHERE parent_id = :p ORDER BY id LIMIT 1"),
            {"p": connection.scalar(text(f"SELECT {fid('0', '17')}"))},
        )
    with transaction(runtime.sessions) as session:
        user = session.get(User, officer)
        assert user is not None
        group_ids = groups.group_ids_of(session, officer)
        assert len(group_ids) == GROUPS_PER_USER, len(group_ids)
        actor = users.actor_for(user, group_ids=group_ids)
        depth = len(ancestry(session, access_item(session, actor, deep, Action.SEE)))
        assert depth == 20, depth
        middle = content_folders.list_items(session, actor, folder_id=big, limit=shape.big // 2, marker=None)
        marker = middle.next_marker

    def page(limit: int, at: str | None) -> Callable[[], object]:
        def go() -> None:
            with transaction(runtime.sessions) as session:
                listed = content_folders.list_items(session, actor, folder_id=big, limit=limit, marker=at)
                assert len(listed.items) == limit

        return go

    def check(item_id: str) -> Callable[[], object]:
        def go() -> None:
            with transaction(runtime.sessions) as session:
                checked = users.actor_for(user, group_ids=groups.group_ids_of(session, officer))
                access_item(session, checked, item_id, Action.DOWNLOAD)

        return go

    counter = iter(range(10**9))

    def start_upload() -> None:
        limits = runtime.settings.limits
        with transaction(runtime.sessions) as session:
            upload_caps.ensure_room_for_upload(
                session, actor, length=1 << 20, max_open=10**9, max_open_bytes=1 << 60, clock=runtime.clock
            )
            resumable_uploads.create_upload(
                session, actor, folder_id=deep, name=f"statement-{next(counter)}.pdf", length=1 << 20,
                content_type="application/pdf", upload_metadata=None, keys=runtime.keys,
                clock=runtime.clock, segment_bytes=limits.segment_bytes, max_bytes=limits.max_upload_bytes,
            )  # fmt: skip

    cases: list[tuple[str, Callable[[], object]]] = [
        ("(a) page of 100, start of the big folder", page(100, None)),
        ("(a) page of 100, middle of the big folder", page(100, marker)),
        ("(a) page of 1000, start of the big folder", page(1000, None)),
        ("(a) page of 1000, middle of the big folder", page(1000, marker)),
        ("(b) permission check, folder 20 deep, 50 groups", check(deep)),
        ("(b) permission check, file 20 deep, 50 groups", check(deep_file)),
        ("(c) start an upload 20 deep (caps, check, row, audit)", start_upload),
    ]
    print(f"\nFigures, {runs} runs each after 10 discarded, one client ({os.cpu_count()} cores):")
    for label, action in cases:
        measure(engine, label, runs, action)
    if statements:  # what each operation sends, one line a statement (to see which could go)
        for label, action in cases[4:]:
            with captured(engine) as seen:
                action()
            print(f"\n-- {label}: {len(seen)} statements")
            print("\n".join("   " + " ".join(statement.split())[:150] for statement, _ in seen))
    print("\nPlans (EXPLAIN (ANALYZE, BUFFERS)) of the SELECTs each operation sends:")
    for label, action in (cases[1], cases[3], cases[5], cases[6]):
        with captured(engine) as seen:
            action()
        explain(engine, label, seen)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave the database for another run")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by an earlier run")
    parser.add_argument("--db", default=DB, help="the database's name (made here, on 127.0.0.1)")
    parser.add_argument("--statements", action="store_true", help="list the statements each operation sends")
    args = parser.parse_args()
    url = f"postgresql+psycopg://postgres@127.0.0.1/{args.db}"
    shape = Shape(args.scale)
    print(f"scale {args.scale}: {shape}")
    print(f"before: load average {os.getloadavg()}")
    if not args.reuse:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                dev_mode=True,
                data_dir=Path(tmp),
                secret_key="bench",
                database={"url": url},  # type: ignore[arg-type]
            )
            runtime = Runtime.build(settings)
            start = time.perf_counter()
            upgrade(runtime.engine)  # what `strongroom db upgrade` runs (on --reuse: migrations added since)
            if not args.reuse:
                fill(runtime.engine, shape)
            add_day_of_uploads(runtime.engine, shape)
            print(f"built in {time.perf_counter() - start:.0f} s")
            with runtime.engine.connect() as connection:
                size = connection.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
            print(f"database size {size}")
            run_benchmarks(runtime, shape, args.runs, statements=args.statements)
            runtime.close()
    finally:
        if not args.keep:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", args.db], check=True)
    print(f"after: load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
