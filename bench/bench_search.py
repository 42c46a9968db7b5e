"""Search benchmark (issue 19): p50/p95 of searches by a user who may see 10% of N indexed files, on
SQLite and PostgreSQL, permission filtering included (search/visibility.py runs inside every query),
and the index lag of an upload (through the REST door) until the searcher finds it.

    .venv/bin/python bench/bench_search.py [--items 1000000] [--runs 40] [--pg postgresql+psycopg://...]

Layout: N files in case folders of 1,000, under 10 unit folders, all owned by one officer. The searcher
holds a grant by name on every twentieth case folder and, through a group, on every twentieth other one
(10% of the files); every twentieth case folder is SECRET, and 1% of files are SECRET, which the group's
grants do not reach. Items, metadata values and search documents (name and a body of words) are made by
set-based SQL (one INSERT ... SELECT per table over a number series), so the FTS5 table (by its
triggers) and the GIN index are real and filled as the service would. Queries, each `engine.search` in
process with a page of 50, the total and every facet:

- common word: one of 50 words in names (2% of all files, 0.2% of what the searcher sees);
- rare word: one of 10,000 words in bodies (0.01%; `k77x`, so that no other word starts with it);
- metadata comparison: `exhibit.bag = "Bnnn"` (0.1% of files);
- facet request: a common word narrowed by kind and classification facets;
- every file (`exhibit`, a prefix of every name): the worst case, 10% of N visible hits ranked.

Prints p50/p95 wall, the process CPU per search (SQLite runs in process), on PostgreSQL the server
process's CPU for the search too (when the server runs on this machine), and the load average;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_audit import runtime_for

from strongroom.access.actions import Role
from strongroom.actors import Actor
from strongroom.app import create_app
from strongroom.content import folders as content_folders
from strongroom.db.base import UTCDateTime
from strongroom.db.session import transaction
from strongroom.identity import groups, tokens, users
from strongroom.runtime import Runtime
from strongroom.search import engine
from strongroom.sharing import collaborations

COMMON = 50  # words in names: w00..w49
RARE = 10_000  # words in bodies: k0..k9999
PER_FOLDER = 1000
UNITS = 10
RNG = random.Random(19)  # the same words in every run


def _numbers(postgres: bool, count: int) -> str:
    """A FROM clause giving n = 0 .. count-1."""
    if postgres:
        return f"generate_series(0, {count - 1}) AS s(n)"
    return f"(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {count - 1}) SELECT n FROM s) s"


def _pad(postgres: bool, expr: str, width: int) -> str:
    return f"lpad(({expr})::text, {width}, '0')" if postgres else f"printf('%0{width}d', {expr})"


def seed(runtime: Runtime, root: str, owner: str, items: int) -> list[str]:
    """Make the tree, the documents and the metadata values; the case folders' ids, in order."""
    cases = max(1, items // PER_FOLDER)
    with runtime.engine.connect() as connection:
        pg = connection.dialect.name == "postgresql"
        cat = "||"
        now = bindparam("now", datetime.now(UTC), type_=UTCDateTime())
        me = bindparam("owner", owner)
        top = bindparam("root", root)
        common = (
            "INSERT INTO item (id, kind, sort_group, parent_id, owner_id, name, name_key, created_at, updated_at, "
            "size, content_type, revision, classification) "
        )
        units = f"'fo_unit' {cat} {_pad(pg, 'n', 9)}"
        connection.execute(
            text(
                f"{common} SELECT {units}, 'folder', 0, :root, :owner, 'unit-' {cat} n, 'unit-' {cat} n, "
                f":now, :now, 0, NULL, 1, 'OFFICIAL' FROM {_numbers(pg, UNITS)}"
            ).bindparams(now, me, top)
        )
        case_label = "CASE WHEN n % 20 = 5 THEN 'SECRET' ELSE 'OFFICIAL' END"
        parent_unit = f"'fo_unit' {cat} {_pad(pg, f'n % {UNITS}', 9)}"
        connection.execute(
            text(
                f"{common} SELECT 'fo_case' {cat} {_pad(pg, 'n', 9)}, 'folder', 0, {parent_unit}, :owner, "
                f"'case-' {cat} {_pad(pg, 'n', 5)}, 'case-' {cat} {_pad(pg, 'n', 5)}, :now, :now, 0, NULL, 1, "
                f"{case_label} FROM {_numbers(pg, cases)}"
            ).bindparams(now, me)
        )
        name = f"'exhibit-' {cat} {_pad(pg, 'n', 7)} {cat} ' w' {cat} {_pad(pg, f'n % {COMMON}', 2)} {cat} '.jpg'"
        connection.execute(
            text(
                f"{common} SELECT 'fi_bench' {cat} {_pad(pg, 'n', 12)}, 'file', 1, "
                f"'fo_case' {cat} {_pad(pg, f'(n / {PER_FOLDER}) % {cases}', 9)}, :owner, {name}, {name}, "
                f":now, :now, n, 'image/jpeg', 1, CASE WHEN n % 100 = 7 THEN 'SECRET' ELSE 'OFFICIAL' END "
                f"FROM {_numbers(pg, items)}"
            ).bindparams(now, me)
        )
        connection.execute(
            text(
                "INSERT INTO metadata_value (item_id, template_key, field, text_value) "
                f"SELECT 'fi_bench' {cat} {_pad(pg, 'n', 12)}, 'exhibit', 'bag', 'B' {cat} (n % 1000) "
                f"FROM {_numbers(pg, items)}"
            )
        )
        # Documents in id order, the way uploads would add them; the body is what extracted text adds.
        body = f"'witness statement k' {cat} (n % {RARE}) {cat} 'x exhibit bag B' {cat} (n % 1000)"
        connection.execute(
            text(
                "INSERT INTO search_document (item_id, name, body, parent_id) "
                f"SELECT 'fi_bench' {cat} {_pad(pg, 'n', 12)}, {name}, {body}, "
                f"'fo_case' {cat} {_pad(pg, f'(n / {PER_FOLDER}) % {cases}', 9)} FROM {_numbers(pg, items)}"
            )
        )
        connection.execute(
            text(
                "INSERT INTO search_document (item_id, name, body, parent_id) SELECT i.id, i.name, '', i.parent_id FROM item i "
                "WHERE i.kind = 'folder' AND NOT EXISTS (SELECT 1 FROM search_document d WHERE d.item_id = i.id)"
            )
        )
        connection.commit()
        connection.execute(text("ANALYZE"))
        connection.commit()
    return [f"fo_case{n:09d}" for n in range(cases)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(p * len(ordered)) - 1)]


def queries() -> list[tuple[str, Callable[[], engine.SearchRequest]]]:
    return [
        ("common word", lambda: engine.SearchRequest(q=f"w{RNG.randrange(COMMON):02d}")),
        ("rare word", lambda: engine.SearchRequest(q=f"k{RNG.randrange(RARE)}x")),
        (
            "metadata comparison",
            lambda: engine.SearchRequest(where=f'exhibit.bag = "B{RNG.randrange(1000)}"'),
        ),
        (
            "facet request",
            lambda: engine.SearchRequest(
                q=f"w{RNG.randrange(COMMON):02d}", kinds=["file"], classifications=["OFFICIAL"]
            ),
        ),
        ("every file (worst case)", lambda: engine.SearchRequest(q="exhibit")),
    ]


def index_lag(runtime: Runtime, token: str, actor: Actor, folder: str, runs: int) -> list[float]:
    """Milliseconds from starting an upload (REST PUT) until the searcher's search finds it."""
    lags = []
    with TestClient(create_app(runtime)) as client:
        for n in range(runs + 1):
            word = f"lagcheck{n}x{RNG.randrange(10**9)}"
            began = time.perf_counter()
            response = client.put(
                f"/api/v1/folders/{folder}/files/{word}.txt",
                content=b"statement",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code in {200, 201}, response.text
            while True:
                with transaction(runtime.sessions) as session:
                    if engine.search(session, actor, engine.SearchRequest(q=word)).total:
                        break
            lags.append((time.perf_counter() - began) * 1000)
    return lags[1:]


def prepare(runtime: Runtime, args: argparse.Namespace) -> tuple[str, str, list[str], float]:
    """Users, tree and grants (or, with --reuse, those an earlier run left): the officer's token, the
    searcher's id, the case folders and the seconds seeding took."""
    system = Actor.system(label="bench")
    if args.reuse:
        with transaction(runtime.sessions) as session:
            owner = session.scalar(select(users.User).where(users.User.email == "oic@force.police.test"))
            searcher = session.scalar(select(users.User).where(users.User.email == "dc@force.police.test"))
            assert owner is not None and searcher is not None, (
                "--reuse needs a database an earlier run filled"
            )
            _, owner_token = tokens.issue_token(
                session, system, user=owner, name="bench", expires_at=None, clock=runtime.clock
            )
            return (
                owner_token,
                searcher.id,
                [f"fo_case{n:09d}" for n in range(max(1, args.items // PER_FOLDER))],
                0.0,
            )
    with transaction(runtime.sessions) as session:
        owner = users.create_user(session, system, email="oic@force.police.test", clock=runtime.clock)
        searcher = users.create_user(session, system, email="dc@force.police.test", clock=runtime.clock)
        root = content_folders.create_root_folder(session, owner, clock=runtime.clock).id
        content_folders.create_root_folder(session, searcher, clock=runtime.clock)
        _, owner_token = tokens.issue_token(
            session, system, user=owner, name="bench", expires_at=None, clock=runtime.clock
        )
        owner_id, searcher_id = owner.id, searcher.id
    start = time.perf_counter()
    folders = seed(runtime, root, owner_id, args.items)
    seeded = time.perf_counter() - start
    with transaction(runtime.sessions) as session:
        dc = session.get(users.User, searcher_id)
        assert dc is not None
        team = groups.create_group(session, system, name="MIT", clock=runtime.clock)
        groups.add_member(session, system, group_id=team.id, user=dc, clock=runtime.clock)
        for f, folder_id in enumerate(folders):
            if f % 20 in (0, 10):
                collaborations.grant_role(
                    session,
                    system,
                    item_id=folder_id,
                    role=Role.VIEWER,
                    user=dc if f % 20 == 0 else None,
                    group_id=team.id if f % 20 == 10 else None,
                    clock=runtime.clock,
                )
    return owner_token, searcher_id, folders, seeded


def backend_cpu_ms(session: Session) -> Callable[[], float] | None:
    """On PostgreSQL on this machine: a reader of the session's server process's CPU milliseconds
    (the kernel's on-CPU time, /proc/<pid>/schedstat), so the server's share of a search is reported
    beside the wall time, which on a busy machine is mostly waiting for a core."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    path = Path(f"/proc/{session.scalar(text('SELECT pg_backend_pid()'))}/schedstat")
    if not path.exists():
        return None
    return lambda: int(path.read_text().split()[0]) / 1e6


def run_target(name: str, url: str | None, tmp: Path, args: argparse.Namespace) -> None:
    runtime = runtime_for(tmp / name, url)
    owner_token, searcher_id, folders, seeded = prepare(runtime, args)
    with transaction(runtime.sessions) as session:
        dc = session.get(users.User, searcher_id)
        actor = users.actor_for(dc, group_ids=groups.group_ids_of(session, searcher_id))  # type: ignore[arg-type]
        visible = engine.search(session, actor, engine.SearchRequest(where="kind = file", limit=1)).total
    print(
        f"{name}: seeded {args.items:,} files in {len(folders)} case folders in {seeded:.0f} s; "
        f"the searcher sees {visible:,} files ({100 * visible / args.items:.1f}%)",
        flush=True,
    )
    for label, make in queries():
        wall, cpu, server_cpu = [], [], []
        total = 0
        runs = args.worst_runs if label.startswith("every file") else args.runs
        for _ in range(runs + 1):
            request = make()
            began, began_cpu = time.perf_counter(), time.process_time()
            with transaction(runtime.sessions) as session:
                server = backend_cpu_ms(session)
                server_began = server() if server else 0.0
                found = engine.search(session, actor, request)
                if server:
                    server_cpu.append(server() - server_began)
            wall.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
            total = found.total
        wall, cpu, server_cpu = wall[1:], cpu[1:], server_cpu[1:]
        on_server = f"  server cpu p50 {statistics.median(server_cpu):6.1f} ms" if server_cpu else ""
        print(
            f"  {label:<26} p50 {statistics.median(wall):7.1f} ms  p95 {percentile(wall, 0.95):7.1f} ms"
            f"  cpu p50 {statistics.median(cpu):6.1f} ms{on_server}"
            f"  (last total {total:,}; load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    lags = index_lag(runtime, owner_token, actor, folders[0], args.lag_runs)
    print(
        f"  {'index lag after upload':<26} p50 {statistics.median(lags):7.1f} ms  p95 {percentile(lags, 0.95):7.1f} ms"
        f"  (upload PUT start -> found by the searcher; load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--lag-runs", type=int, default=20)
    parser.add_argument("--worst-runs", type=int, default=5, help="runs of the every-file query")
    parser.add_argument("--pg", help="PostgreSQL URL of an empty database to use as well")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--data-dir", help="where the SQLite database goes (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database in --data-dir")
    parser.add_argument("--reuse", action="store_true", help="measure again on databases a --keep run filled")
    args = parser.parse_args()
    targets = ([] if args.skip_sqlite else [("sqlite", None)]) + (
        [("postgresql", args.pg)] if args.pg else []
    )
    if args.keep:  # the SQLite database stays in --data-dir, for bench/explain_search.py
        for name, url in targets:
            run_target(name, url, Path(args.data_dir), args)
        return
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        for name, url in targets:
            run_target(name, url, Path(tmp), args)


if __name__ == "__main__":
    main()
