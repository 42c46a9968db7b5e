import threading

import pytest
from sqlalchemy import text

from strongroom.db.session import on_commit, transaction
from strongroom.errors import Conflict
from strongroom.runtime import Runtime


def test_sqlite_runs_in_wal_mode_with_full_sync(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only apply to SQLite")  # the PostgreSQL run covers the other engine
    with runtime.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_on_commit_callbacks_run_after_commit_and_never_after_rollback(runtime: Runtime) -> None:
    ran: list[str] = []
    with transaction(runtime.sessions) as session:
        on_commit(session, lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]

    def failing_change() -> None:
        with transaction(runtime.sessions) as session:
            on_commit(session, lambda: ran.append("rolled back"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing_change()
    assert ran == ["committed"]


def test_a_constraint_race_becomes_a_conflict_not_a_crash(runtime: Runtime) -> None:
    with pytest.raises(Conflict), transaction(runtime.sessions) as session:
        session.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'x')"))


def test_concurrent_transactions_from_many_threads_all_commit(runtime: Runtime) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with transaction(runtime.sessions) as session:
                    session.execute(
                        text(
                            "INSERT INTO job (id, kind, payload, status, attempts, run_after, created_at) "
                            "VALUES (:id, 'x', '{}', 'done', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                        ),
                        {"id": f"job_{n}_{i}"},
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with transaction(runtime.sessions) as session:
        assert session.execute(text("SELECT count(*) FROM job")).scalar() == 80


def test_values_the_database_refuses_are_bad_input_not_a_crash(client: object, alice: object) -> None:
    from fastapi.testclient import TestClient

    from tests.support.users import UserFixture

    assert isinstance(client, TestClient)
    assert isinstance(alice, UserFixture)
    response = client.post(
        "/api/v1/folders", json={"name": "x", "parent_id": "fo_\u0000nul"}, headers=alice.headers
    )
    assert response.status_code in {400, 404}
    assert response.json()["code"] in {"bad_input", "not_found"}
    response = client.patch("/api/v1/folders/root", json={"parent_id": "fo_\u0000nul"}, headers=alice.headers)
    assert response.status_code in {400, 404}
