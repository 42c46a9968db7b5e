"""A full blob disk: the upload answers 507 storage_full, nothing is recorded, the partial is gone, and
the next upload that fits works. The blob directory is a real 8 MiB tmpfs, so the kernel says ENOSPC."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from strongroom.app import create_app
from strongroom.audit.models import AuditEvent
from strongroom.config import LocalBlobs, Settings
from strongroom.content.models import FileVersion
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture, make_user

TOO_BIG = 12 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "blobs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def full_disk_runtime(settings: Settings, small_disk: Path) -> Iterator[Runtime]:
    runtime = Runtime.build(settings.model_copy(update={"blobs": LocalBlobs(path=small_disk)}))
    yield runtime
    runtime.close()


def versions_and_events(runtime: Runtime) -> tuple[int, list[str]]:
    with transaction(runtime.sessions) as session:
        versions = session.scalar(select(func.count()).select_from(FileVersion)) or 0
        actions = list(session.scalars(select(AuditEvent.action)))
    return versions, actions


def leftovers(blob_dir: Path) -> list[str]:
    return sorted(str(path.relative_to(blob_dir)) for path in blob_dir.rglob("*") if path.is_file())


def test_upload_bigger_than_the_disk_answers_507_and_leaves_nothing(
    full_disk_runtime: Runtime, small_disk: Path
) -> None:
    alice: UserFixture = make_user(full_disk_runtime, "alice@force.police.test")
    before = versions_and_events(full_disk_runtime)
    with TestClient(create_app(full_disk_runtime)) as client:
        put = client.put(
            "/api/v1/folders/root/files/cctv.mp4", content=os.urandom(TOO_BIG), headers=alice.headers
        )
        assert put.status_code == 507, put.text
        assert put.headers["content-type"] == "application/problem+json"
        assert put.json()["code"] == "storage_full"

        assert versions_and_events(full_disk_runtime) == before  # no version, no audit event
        assert leftovers(small_disk) == []  # the partial blob was removed, so the space is free again
        listing = client.get("/api/v1/folders/root/items", headers=alice.headers)
        assert listing.status_code == 200
        assert "cctv.mp4" not in listing.text

        small = client.put(
            "/api/v1/folders/root/files/statement.txt", content=b"I saw it.", headers=alice.headers
        )
        assert small.status_code == 201, small.text
        got = client.get(f"/api/v1/files/{small.json()['id']}/content", headers=alice.headers)
        assert got.content == b"I saw it."


def test_webdav_put_bigger_than_the_disk_answers_507_json(
    full_disk_runtime: Runtime, small_disk: Path
) -> None:
    alice = make_user(full_disk_runtime, "alice@force.police.test")
    before = versions_and_events(full_disk_runtime)
    with TestClient(create_app(full_disk_runtime)) as client:
        put = client.put("/dav/cctv.mp4", content=os.urandom(TOO_BIG), auth=(alice.email, alice.token))
        assert put.status_code == 507, put.text
        assert put.json()["code"] == "storage_full"
        assert versions_and_events(full_disk_runtime) == before
        assert leftovers(small_disk) == []
        again = client.put("/dav/statement.txt", content=b"I saw it.", auth=(alice.email, alice.token))
        assert again.status_code == 201, again.text
