"""A full SQLite database ("database or disk is full") answers 507 database_full and records nothing.

SQLite's own limit on its size (PRAGMA max_page_count) makes it refuse to grow exactly as a full disk
does: SQLITE_FULL, "database or disk is full".
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def test_a_full_sqlite_database_answers_507_and_records_nothing(
    runtime: Runtime, client: TestClient, alice: UserFixture
) -> None:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's size limit; PostgreSQL's full disk maps the same way (SQLSTATE 53100)")
    with runtime.engine.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 8}")

    runtime.engine.dispose()
    event.listen(runtime.engine, "connect", cap)

    names: list[str] = []
    answer = None
    for n in range(500):
        name = f"statement-{n}.txt"
        answer = client.put(
            f"/api/v1/folders/root/files/{name}", content=os.urandom(64), headers=alice.headers
        )
        if answer.status_code != 201:
            break
        names.append(name)
    assert answer is not None
    assert answer.status_code == 507, answer.text
    assert answer.json()["code"] == "database_full"

    event.remove(runtime.engine, "connect", cap)
    runtime.engine.dispose()
    listing = client.get("/api/v1/folders/root/items?limit=1000", headers=alice.headers).json()
    assert sorted(item["name"] for item in listing["items"]) == sorted(names)  # the refused one is absent
