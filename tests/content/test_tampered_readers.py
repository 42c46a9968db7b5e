"""Every reader of sealed bytes records tampering it meets as one `storage.blob.tampered` incident and
fails its work for good, saying why: previews, thumbnails and skills (the worker) and the joining of
an upload request's chunks. Downloads and the scrub are covered in tests/api/test_read_integrity.py and
tests/content/test_scrub.py; the virus scan in tests/interop/test_scan_tampered.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.content.models import FileRendition, FileVersion
from strongroom.jobs.models import Job
from strongroom.runtime import Runtime
from strongroom.sharing.models import SubmissionChunk
from strongroom.skills.models import SkillRun
from tests.content.test_hostile_media import H264, PICTURE, make, run_worker, upload
from tests.support.users import UserFixture


def blob_file(runtime: Runtime, key: str) -> Path:
    return runtime.settings.blob_path / key[:2] / key[2:4] / key


def flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


def incidents(runtime: Runtime) -> list[tuple[str, str | None, str | None, dict[str, str]]]:
    """(who found it, item kind, item id, details) of every `storage.blob.tampered` event."""
    with runtime.sessions() as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == "storage.blob.tampered"))
        return [(e.actor_label, e.item_kind, e.item_id, json.loads(e.details)) for e in found]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_previews_and_thumbnails_of_tampered_bytes_are_recorded_once_and_not_retried(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    video = make(tmp_path / "cctv.mp4", *PICTURE, *H264)
    file_id = upload(client, alice, "cctv.mp4", video, "video/mp4")
    with runtime.sessions() as session:
        version = session.scalars(select(FileVersion).where(FileVersion.file_id == file_id)).one()
    flip_a_byte(blob_file(runtime, version.blob_key))

    run_worker(runtime)

    found = incidents(runtime)
    readers = sorted(label for label, *_ in found)
    skills = [label for label in readers if label.startswith("skill ")]
    assert [label for label in readers if label not in skills] == ["previews", "thumbnails"], found
    for _, kind, item_id, details in found:
        assert (kind, item_id, details["version_id"]) == ("file", file_id, version.id)
    with runtime.sessions() as session:
        made = session.execute(
            select(FileRendition.kind, FileRendition.status, FileRendition.detail).where(
                FileRendition.version_id == version.id
            )
        ).all()
        runs = session.execute(select(SkillRun.skill, SkillRun.status, SkillRun.detail)).all()
        waiting = session.scalars(select(Job.kind).where(Job.status.in_(["queued", "running"]))).all()
    assert {kind for kind, *_ in made} == {"preview", "thumbnail"}
    for _, status, detail in made:
        assert status == "unsupported"
        assert detail is not None
        assert "integrity check" in detail
    assert sorted(f"skill {skill}" for skill, *_ in runs) == skills  # one incident per reader
    for _, status, detail in runs:
        assert status == "failed"
        assert detail is not None
        assert "integrity check" in detail
    assert waiting == []  # nothing left to try the same bytes again


def test_joining_a_tampered_upload_request_chunk_is_a_recorded_503(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "Bus CCTV"}, headers=alice.headers
    )
    assert created.status_code == 201, created.text
    token = created.json()["url"].rsplit("/r/", 1)[1]
    form = {"name": "Sam Driver", "email": "sam@buses.example", "organisation": "Northgate Buses"}
    sub = client.post(f"/r/{token}/api/submissions", json={"form": form})
    assert sub.status_code in {200, 201}, sub.text
    base = f"/r/{token}/api/submissions/{sub.json()['id']}/files"
    data = os.urandom(150_000)
    video = client.post(base, json={"name": "camera 3.mp4", "size": len(data)}).json()
    sent = client.patch(f"{base}/{video['id']}", content=data, headers={"Upload-Offset": "0"})
    assert sent.status_code == 200, sent.text
    with runtime.sessions() as session:
        chunk = session.scalars(select(SubmissionChunk)).one()
    flip_a_byte(blob_file(runtime, chunk.blob_key))

    done = client.post(f"/r/{token}/api/submissions/{sub.json()['id']}/complete")

    assert done.status_code == 503, done.text
    assert done.json()["code"] == "corrupt_blob"
    ((label, kind, item_id, details),) = incidents(runtime)
    assert (label, kind) == ("upload request", "folder")  # the folder the file was to arrive in
    assert item_id is not None
    assert details["chunk_id"] == chunk.id
    assert details["blob_key"] == chunk.blob_key
