"""Limits on unfinished uploads: per-user caps on open tus uploads and their declared bytes, and the
reaping of abandoned uploads (tus uploads and upload-request chunks) with their stored bytes, however
many there are, by the worker's periodic task and by `strongroom gc`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update

from strongroom.app import create_app
from strongroom.audit.events import AuditAction
from strongroom.audit.models import AuditEvent
from strongroom.config import Settings
from strongroom.content.models import TusUpload
from strongroom.db.base import new_id
from strongroom.db.session import transaction
from strongroom.jobs import tasks
from strongroom.runtime import Runtime
from strongroom.sharing.models import SubmissionChunk, UploadSubmission
from tests.cli.test_server_cli import run_cli
from tests.support.users import UserFixture, make_user

TUS = {"Tus-Resumable": "1.0.0"}


def create(client: TestClient, user: UserFixture, length: int, name: str = "clip.bin") -> httpx2.Response:
    return client.post(
        "/api/v1/uploads",
        headers={
            **user.headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode(),
        },
    )


def send(client: TestClient, user: UserFixture, location: str, body: bytes) -> None:
    response = client.patch(
        location,
        content=body,
        headers={
            **user.headers,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert response.status_code == 204, response.text


@pytest.fixture
def capped(settings: Settings) -> Iterator[tuple[Runtime, TestClient]]:
    limits = settings.limits.model_copy(
        update={"max_open_uploads_per_user": 2, "max_open_upload_bytes_per_user": 1000}
    )
    runtime = Runtime.build(settings.model_copy(update={"limits": limits}))
    with TestClient(create_app(runtime)) as client:
        yield runtime, client
    runtime.close()


def test_a_user_may_hold_only_so_many_unfinished_uploads(capped: tuple[Runtime, TestClient]) -> None:
    runtime, client = capped
    alice = make_user(runtime, "alice@force.police.test")
    first = create(client, alice, 100)
    assert create(client, alice, 100).status_code == 201
    refused = create(client, alice, 100)
    assert refused.status_code == 429
    assert refused.json()["code"] == "open_uploads_limit"
    assert refused.json()["details"]["limit"] == 2
    # Another user is not affected; cancelling one upload makes room again.
    bob = make_user(runtime, "bob@force.police.test")
    assert create(client, bob, 100).status_code == 201
    assert client.delete(first.headers["Location"], headers={**alice.headers, **TUS}).status_code == 204
    assert create(client, alice, 100).status_code == 201


def test_a_user_may_declare_only_so_many_unfinished_bytes(capped: tuple[Runtime, TestClient]) -> None:
    runtime, client = capped
    alice = make_user(runtime, "alice@force.police.test")
    started = create(client, alice, 600)
    refused = create(client, alice, 401)
    assert refused.status_code == 429
    assert refused.json()["code"] == "open_upload_bytes_limit"
    assert create(client, alice, 400).status_code == 201
    # A finished upload stops counting.
    send(client, alice, started.headers["Location"], b"x" * 600)
    assert create(client, alice, 600).status_code == 201


def resumable_files(settings: Settings) -> list[Path]:
    root = settings.blob_path / ".resumable"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def expire_every_upload(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(update(TusUpload).values(expires_at=runtime.clock.now() - timedelta(minutes=1)))


def add_abandoned_copies(runtime: Runtime, count: int) -> None:
    """`count` more expired upload rows like the first one, as a burst of abandoned uploads leaves."""
    with transaction(runtime.sessions) as session:
        model = session.scalars(select(TusUpload)).first()
        assert model is not None
        columns = {c.key: getattr(model, c.key) for c in TusUpload.__table__.columns}
        rows = [{**columns, "id": new_id("tus"), "blob_key": f"{i:064x}"} for i in range(count)]
        session.execute(insert(TusUpload), rows)


def open_uploads(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count(TusUpload.id))) or 0)


def test_the_worker_reaps_every_expired_upload_and_its_partial_bytes_at_once(
    runtime: Runtime, client: TestClient, alice: UserFixture, settings: Settings
) -> None:
    for n in range(3):
        location = create(client, alice, 10_000, name=f"clip {n}.bin").headers["Location"]
        send_part = client.patch(
            location,
            content=b"y" * 3000,
            headers={
                **alice.headers,
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert send_part.status_code == 204, send_part.text
    assert len(resumable_files(settings)) == 3
    expire_every_upload(runtime)
    add_abandoned_copies(runtime, 1200)  # more than one batch of the periodic task

    tasks.expire_uploads(runtime)

    assert open_uploads(runtime) == 0
    assert resumable_files(settings) == []


def test_gc_reaps_expired_uploads(
    runtime: Runtime, client: TestClient, alice: UserFixture, settings: Settings
) -> None:
    location = create(client, alice, 10_000).headers["Location"]
    client.patch(
        location,
        content=b"z" * 3000,
        headers={
            **alice.headers,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert len(resumable_files(settings)) == 1
    expire_every_upload(runtime)
    add_abandoned_copies(runtime, 600)

    out = run_cli(settings, "gc").stdout

    assert "removed 601 expired uploads" in out
    assert open_uploads(runtime) == 0
    assert resumable_files(settings) == []


def test_abandoned_upload_request_chunks_are_reaped_with_their_blobs(
    runtime: Runtime, client: TestClient, alice: UserFixture, settings: Settings
) -> None:
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "Shop CCTV"}, headers=alice.headers
    )
    token = created.json()["url"].rsplit("/r/", 1)[1]
    submission = client.post(
        f"/r/{token}/api/submissions", json={"form": {"name": "Pat", "email": "pat@shop.test"}}
    ).json()["id"]
    file_id = client.post(
        f"/r/{token}/api/submissions/{submission}/files", json={"name": "till.mp4", "size": 200_000}
    ).json()["id"]
    chunk = client.patch(
        f"/r/{token}/api/submissions/{submission}/files/{file_id}",
        content=b"v" * 100_000,
        headers={"Upload-Offset": "0"},
    )
    assert chunk.status_code == 200, chunk.text
    with transaction(runtime.sessions) as session:
        key = session.scalars(select(SubmissionChunk.blob_key)).one()
    assert runtime.blobs.exists(key)

    tasks.expire_uploads(runtime)  # a fresh submission is left alone
    assert runtime.blobs.exists(key)

    hours = settings.sharing.abandoned_submission_hours
    with transaction(runtime.sessions) as session:
        session.execute(
            update(UploadSubmission).values(created_at=runtime.clock.now() - timedelta(hours=hours + 1))
        )
    tasks.expire_uploads(runtime)

    assert not runtime.blobs.exists(key)
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(SubmissionChunk)).all() == []
        reaped = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.SUBMISSION_EXPIRED.value)
        ).one()
        assert json.loads(reaped.details)["bytes_dropped"] == 100_000
    # The sender who comes back starts again from zero.
    state = client.get(f"/r/{token}/api/submissions/{submission}/files/{file_id}").json()
    assert state["offset"] == 0
