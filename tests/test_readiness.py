"""/readyz checks the database, the blob store and the key provider; /healthz only that we answer."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from strongroom.app import create_app
from strongroom.config import DatabaseSettings, LocalBlobs, Settings
from strongroom.db.migrate import downgrade
from strongroom.runtime import Runtime
from tests.support.live import free_port


def _probe(settings: Settings) -> tuple[int, dict[str, object], int]:
    runtime = Runtime.build(settings)
    try:
        with TestClient(create_app(runtime)) as client:
            ready = client.get("/readyz")
            alive = client.get("/healthz").status_code
            return ready.status_code, ready.json(), alive
    finally:
        runtime.close()


def test_ready_when_every_part_works(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "checks": {"database": {"ok": True}, "blob_store": {"ok": True}, "key_provider": {"ok": True}},
    }
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_not_ready_without_the_database(settings: Settings, tmp_path: Path, kind: str) -> None:
    gone = (
        f"sqlite:///{tmp_path / 'no-such-dir' / 'strongroom.db'}"
        if kind == "sqlite"
        else f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/strongroom"
    )
    status, body, alive = _probe(settings.model_copy(update={"database": DatabaseSettings(url=gone)}))
    assert status == 503
    assert body["code"] == "database_unavailable"
    assert body["checks"] == {
        "database": {"ok": False, "code": "database_unavailable", "detail": "OperationalError"},
        "blob_store": {"ok": True},
        "key_provider": {"ok": True},
    }
    assert alive == 200  # the process is fine: a balancer stops sending, nothing restarts it


def test_not_ready_on_an_old_schema(settings: Settings) -> None:
    runtime = Runtime.build(settings)
    try:
        downgrade(runtime.engine, "-1")
    finally:
        runtime.close()
    status, body, _ = _probe(settings)
    assert status == 503
    assert body["code"] == "database_schema_mismatch"


@pytest.fixture
def read_only_blobs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "blobs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_not_ready_when_the_blob_directory_is_read_only(settings: Settings, read_only_blobs: Path) -> None:
    configured = settings.model_copy(update={"blobs": LocalBlobs(path=read_only_blobs)})
    runtime = Runtime.build(configured)  # the store makes its folders while it still can
    try:
        subprocess.run(["mount", "-o", "remount,ro", str(read_only_blobs)], check=True)
        with TestClient(create_app(runtime)) as client:
            answer = client.get("/readyz")
    finally:
        runtime.close()
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    body = answer.json()
    assert body["code"] == "blob_store_unavailable"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["blob_store"]["ok"] is False
