"""Folder listing benchmark (issue 14): a page of 100 and of 1000 items, at the start, the middle and
the end of a folder of 1,000,000, through the REST door in process (the app, no sockets), on SQLite
and PostgreSQL. Targets: 1000 items <= 20 ms, 100 <= 5 ms. The folder is seeded with bulk inserts.

    .venv/bin/python bench/bench_listing.py [--items 1000000] [--pg postgresql+psycopg://...]

Prints the median wall time and the median CPU time of the process per page (wall swings with the
machine's load; CPU is steadier), with the load average. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from strongroom.actors import Actor
from strongroom.app import create_app
from strongroom.config import Settings
from strongroom.content import folders as content_folders
from strongroom.content.folders import encode_marker
from strongroom.content.models import Item
from strongroom.content.names import name_key
from strongroom.db.migrate import upgrade
from strongroom.db.session import transaction
from strongroom.identity import tokens, users
from strongroom.runtime import Runtime


def runtime_for(data_dir: Path, url: str | None) -> Runtime:
    database = {"url": url} if url else {}
    settings = Settings(dev_mode=True, data_dir=data_dir, secret_key="bench", database=database)  # type: ignore[arg-type]
    runtime = Runtime.build(settings)
    upgrade(runtime.engine)
    return runtime


def seed(runtime: Runtime, folder_id: str, owner: str, items: int, *, id_prefix: str = "fi_bench") -> None:
    now = datetime.now(UTC)
    table = Item.__table__
    with runtime.engine.connect() as connection:
        rows = []
        for n in range(items):
            name = f"exhibit-{n:07d}.jpg"
            rows.append({
                "id": f"{id_prefix}{n:012d}", "kind": "file", "sort_group": 1, "parent_id": folder_id,
                "owner_id": owner, "name": name, "name_key": name_key(name), "created_at": now,
                "updated_at": now, "size": n, "sha256": "ab" * 32, "content_type": "image/jpeg",
                "revision": 1, "classification": "OFFICIAL", "scan_status": "clean",
            })  # fmt: skip
            if len(rows) == 20_000:
                connection.execute(insert(table), rows)  # type: ignore[arg-type]
                connection.commit()
                rows = []
        if rows:
            connection.execute(insert(table), rows)  # type: ignore[arg-type]
            connection.commit()
        # What autovacuum (PostgreSQL) or `PRAGMA optimize` does after a bulk load: without statistics
        # PostgreSQL took uq_item_live_name (it matches `trashed_at IS NULL`) and sorted the whole
        # folder, 2.7 s a page; with them it walks ix_item_listing, 0.1 ms (EXPLAIN ANALYZE).
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def timed_pages(client: TestClient, url: str, markers: dict[str, str | None], limit: int, runs: int) -> None:
    for where, marker in markers.items():
        wall, cpu = [], []
        for _ in range(runs + 1):
            params = {"limit": limit, **({"marker": marker} if marker else {})}
            w, c = time.perf_counter(), time.process_time()
            r = client.get(url, params=params)
            wall.append((time.perf_counter() - w) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            assert r.status_code == 200 and len(r.json()["items"]) == limit, r.text[:200]
        print(
            f"  page of {limit:>4} at the {where:<6}: median {statistics.median(wall[1:]):6.1f} ms wall,"
            f" {statistics.median(cpu[1:]):6.1f} ms CPU (load {os.getloadavg()[0]:.1f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
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
                user = users.create_user(
                    session, system, email="bench@force.police.test", clock=runtime.clock
                )
                root = content_folders.create_root_folder(session, user, clock=runtime.clock).id
                _, token = tokens.issue_token(
                    session, system, user=user, name="bench", expires_at=None, clock=runtime.clock
                )
                owner = user.id
            start = time.perf_counter()
            seed(runtime, root, owner, args.items)
            print(f"{name}: seeded {args.items:,} items in {time.perf_counter() - start:.0f} s")
            with transaction(runtime.sessions) as session:
                keys = list(session.execute(select(Item.sort_group, Item.name_key, Item.id).where(
                    Item.parent_id == root, Item.id.in_([
                        f"fi_bench{args.items // 2:012d}", f"fi_bench{args.items - 1001:012d}"])
                ).order_by(Item.name_key)))  # fmt: skip
            markers = {"start": None, "middle": None, "end": None}
            markers["middle"], markers["end"] = (encode_marker(k) for k in keys)  # type: ignore[arg-type]
            with TestClient(create_app(runtime), headers={"Authorization": f"Bearer {token}"}) as client:
                for limit in (100, 1000):
                    timed_pages(client, f"/api/v1/folders/{root}/items", markers, limit, args.runs)
            runtime.close()


if __name__ == "__main__":
    main()
