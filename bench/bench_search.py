"""Search benchmark (issue 19): p95 of a search by a user who may see 10% of N indexed files, on SQLite
and PostgreSQL, permission filtering included (search/visibility.py runs inside every query).

    .venv/bin/python bench/bench_search.py [--items 100000] [--runs 40] [--pg postgresql+psycopg://...]

N files lie in folders of 1,000 owned by one officer; the searcher holds a grant by name on every tenth
folder (10% of the files), and every twentieth folder is SECRET. Names carry one word of 50, so a word
matches about 2% of all files (0.2% of what the searcher sees). Items and their search documents are
bulk-inserted (HTTP uploads would measure uploads); each search is `engine.search` in process with a
page of 50, total and facets. Prints p50/p95 wall and the load average; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_audit import runtime_for

from strongroom.access.actions import Role
from strongroom.actors import Actor
from strongroom.content import folders as content_folders
from strongroom.content.models import Item
from strongroom.content.names import name_key
from strongroom.db.session import transaction
from strongroom.identity import users
from strongroom.runtime import Runtime
from strongroom.search import engine
from strongroom.sharing import collaborations

WORDS = [f"w{n:02d}" for n in range(50)]
PER_FOLDER = 1000
RNG = random.Random(19)  # the same words in every run


def seed(runtime: Runtime, root: str, owner: str, items: int) -> list[str]:
    now = datetime.now(UTC)
    folders = []
    with runtime.engine.connect() as connection:
        rows = []
        for f in range(max(1, items // PER_FOLDER)):
            folder_id = f"fo_bench{f:012d}"
            folders.append(folder_id)
            name = f"case-{f:05d}"
            label = "SECRET" if f % 20 == 5 else "OFFICIAL"
            rows.append({
                "id": folder_id, "kind": "folder", "sort_group": 0, "parent_id": root, "owner_id": owner,
                "name": name, "name_key": name_key(name), "created_at": now, "updated_at": now, "size": 0,
                "revision": 1, "classification": label,
            })  # fmt: skip
        connection.execute(insert(Item.__table__), rows)  # type: ignore[arg-type]
        rows = []
        for n in range(items):
            name = f"exhibit-{n:07d} {WORDS[n % len(WORDS)]}.jpg"
            rows.append({
                "id": f"fi_bench{n:012d}", "kind": "file", "sort_group": 1,
                "parent_id": folders[n // PER_FOLDER % len(folders)], "owner_id": owner, "name": name,
                "name_key": name_key(name), "created_at": now, "updated_at": now, "size": n,
                "content_type": "image/jpeg", "revision": 1, "classification": "OFFICIAL",
            })  # fmt: skip
            if len(rows) == 20_000:
                connection.execute(insert(Item.__table__), rows)  # type: ignore[arg-type]
                rows = []
        if rows:
            connection.execute(insert(Item.__table__), rows)  # type: ignore[arg-type]
        connection.execute(
            text(
                "INSERT INTO search_document (item_id, name, body) SELECT i.id, i.name, '' FROM item i "
                "WHERE NOT EXISTS (SELECT 1 FROM search_document d WHERE d.item_id = i.id)"
            )
        )
        connection.commit()
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
            connection.commit()
    return folders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--pg", help="PostgreSQL URL of an empty database to use as well")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    targets = ([] if args.skip_sqlite else [("sqlite", None)]) + (
        [("postgresql", args.pg)] if args.pg else []
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in targets:
            runtime = runtime_for(Path(tmp) / name, url)
            with transaction(runtime.sessions) as session:
                system = Actor.system(label="bench")
                owner = users.create_user(session, system, email="oic@force.police.test", clock=runtime.clock)
                searcher = users.create_user(
                    session, system, email="dc@force.police.test", clock=runtime.clock
                )
                root = content_folders.create_root_folder(session, owner, clock=runtime.clock).id
                content_folders.create_root_folder(session, searcher, clock=runtime.clock)
                owner_id = owner.id
            start = time.perf_counter()
            folders = seed(runtime, root, owner_id, args.items)
            with transaction(runtime.sessions) as session:
                dc = session.get(users.User, searcher.id)
                for folder_id in folders[::10]:
                    collaborations.grant_role(
                        session, system, item_id=folder_id, role=Role.VIEWER, user=dc, clock=runtime.clock
                    )
                actor = users.actor_for(dc)  # type: ignore[arg-type]
            print(
                f"{name}: seeded {args.items:,} files in {len(folders)} folders in {time.perf_counter() - start:.0f} s"
            )

            for label, make in (
                ("one word", lambda: engine.SearchRequest(q=RNG.choice(WORDS))),
                ("word + kind filter", lambda: engine.SearchRequest(q=RNG.choice(WORDS), kinds=["file"])),
                ("prefix 'exhibit' (every file)", lambda: engine.SearchRequest(q="exhibit")),
                ("metadata-only query", lambda: engine.SearchRequest(where="size >= 500 AND kind = file")),
            ):
                wall = []
                total = 0
                for _ in range(args.runs + 1):
                    request = make()
                    began = time.perf_counter()
                    with transaction(runtime.sessions) as session:
                        found = engine.search(session, actor, request)
                    wall.append((time.perf_counter() - began) * 1000)
                    total = found.total
                wall = sorted(wall[1:])
                p95 = wall[max(0, round(0.95 * len(wall)) - 1)]
                print(
                    f"  {label:<30} p50 {statistics.median(wall):7.1f} ms  p95 {p95:7.1f} ms"
                    f"  (last total {total:,}; load {os.getloadavg()[0]:.1f})"
                )
            runtime.close()


if __name__ == "__main__":
    main()
