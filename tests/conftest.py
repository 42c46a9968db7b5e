"""Shared fixtures: a fresh database per test (SQLite or PostgreSQL), a runtime, the app, users.

Choose the database with STRONGROOM_TEST_DB=sqlite (default) or postgresql. Every test gets its own
database created from a migrated template, so tests that commit (HTTP tests, concurrency tests) stay
isolated and order-independent.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from strongroom.app import create_app
from strongroom.config import Settings
from strongroom.runtime import Runtime
from tests.support.databases import TemplateDatabase, empty_database, make_template
from tests.support.live import LiveServer, start_live_server
from tests.support.users import UserFixture, make_user

pytest_plugins: list[str] = ["tests.support.object_stores"]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    kind = os.environ.get("STRONGROOM_TEST_DB", "sqlite")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    template = make_template(kind, tmp_path_factory.mktemp("template"), worker=worker)
    yield template
    template.drop()


@pytest.fixture
def database_url(template_db: TemplateDatabase, tmp_path: Path) -> Iterator[str]:
    url, cleanup = template_db.clone(tmp_path / "db", name=f"t{uuid.uuid4().hex[:10]}")
    yield url
    cleanup()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database of the chosen kind with no schema, for tests of the migrations and `strongroom db`."""
    kind = os.environ.get("STRONGROOM_TEST_DB", "sqlite")
    url, cleanup = empty_database(kind, tmp_path / "empty-db", name=f"e{uuid.uuid4().hex[:10]}")
    yield url
    cleanup()


@pytest.fixture
def blob_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Where the test's blobs live: the local folder (None) unless STRONGROOM_TEST_BLOBS=azure or s3
    puts them in a fresh container on Azurite or bucket on SeaweedFS (tests/support/object_stores.py).
    The store's AWS_* / AZURE_* variables are set for the test, as an operator would set them."""
    kind = os.environ.get("STRONGROOM_TEST_BLOBS", "local")
    if kind == "local":
        return None
    server = request.getfixturevalue({"azure": "azurite", "s3": "seaweedfs"}[kind])
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    url: str = server.fresh_url()
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, blob_url: str | None) -> Settings:
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},  # type: ignore[arg-type]
        limits={"segment_bytes": 64 * 1024, "max_upload_bytes": 64 * 1024 * 1024},  # type: ignore[arg-type]
        blobs={"url": blob_url, "part_size_mib": 5},  # type: ignore[arg-type]
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture
def alice(runtime: Runtime) -> UserFixture:
    return make_user(runtime, "alice@force.police.test")


@pytest.fixture
def bob(runtime: Runtime) -> UserFixture:
    return make_user(runtime, "bob@force.police.test")


@pytest.fixture
def admin(runtime: Runtime) -> UserFixture:
    return make_user(runtime, "admin@force.police.test", is_admin=True)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    server = start_live_server(app)
    yield server
    server.stop()


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave things a person should look at (screenshots, reports)."""
    path = Path(os.environ.get("STRONGROOM_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests (chromium: tests/*/test_browser*.py, *_browser.py) drive the same pages and scripts
    whatever the database, so they run on the SQLite pass only; on PostgreSQL the paths beneath those
    pages run through the API and domain tests. This keeps the whole CI (both passes) inside its time."""
    if os.environ.get("STRONGROOM_TEST_DB", "sqlite") != "postgresql":
        return
    on_sqlite_pass = pytest.mark.skip(reason="browser test: runs on the SQLite pass (same pages)")
    for item in items:
        if item.path.stem.startswith("test_browser") or item.path.stem.endswith("_browser"):
            item.add_marker(on_sqlite_pass)
