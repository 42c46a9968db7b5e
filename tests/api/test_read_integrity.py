"""Reads check everything they can, and a failed check is an audited incident (REST and WebDAV)."""

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.content.models import FileVersion
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.live import LiveServer
from tests.support.users import UserFixture

SEG = 64 * 1024  # the test settings' segment size


@pytest.fixture
def http(live_server: LiveServer, alice: UserFixture) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, headers=alice.headers, timeout=30) as client:
        yield client


def _upload(http: httpx.Client, name: str, data: bytes) -> tuple[str, str]:
    response = http.put(f"/api/v1/folders/root/files/{name}", content=data)
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["version_id"]


def _blob_of(runtime: Runtime, version_id: str) -> Path:
    with transaction(runtime.sessions) as session:
        key = session.get_one(FileVersion, version_id).blob_key
    return runtime.settings.blob_path / key[:2] / key[2:4] / key


def _incidents(runtime: Runtime) -> list[tuple[str | None, dict[str, str]]]:
    """(file id, details) of every `storage.blob.tampered` event."""
    with transaction(runtime.sessions) as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == "storage.blob.tampered"))
        return [(event.item_id, json.loads(event.details)) for event in found]


def test_bytes_appended_after_the_final_segment_end_the_download_and_are_recorded(
    http: httpx.Client, runtime: Runtime
) -> None:
    data = os.urandom(2 * SEG + 10)
    file_id, version_id = _upload(http, "interview.wav", data)
    assert http.get(f"/api/v1/files/{file_id}/content").content == data
    with _blob_of(runtime, version_id).open("ab") as blob:
        blob.write(b"appended by someone with disk access")

    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"/api/v1/files/{file_id}/content")
    # A range that does not reach the end reads only its segments: still served.
    assert http.get(f"/api/v1/files/{file_id}/content", headers={"Range": "bytes=0-99"}).content == data[:100]
    ((item_id, details),) = _incidents(runtime)
    assert item_id == file_id
    assert details["version_id"] == version_id
    assert "after its final segment" in details["problem"]


def test_a_tampered_middle_segment_ends_the_response_on_every_door_and_is_recorded(
    http: httpx.Client, runtime: Runtime, live_server: LiveServer, alice: UserFixture
) -> None:
    data = os.urandom(9 * SEG)
    file_id, version_id = _upload(http, "cctv.mp4", data)
    path = _blob_of(runtime, version_id)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))

    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"/api/v1/files/{file_id}/content")
    with (
        httpx.Client(base_url=live_server.url, auth=(alice.email, alice.token), timeout=30) as dav,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        dav.get("/dav/cctv.mp4")
    incidents = _incidents(runtime)
    assert len(incidents) == 2
    assert {details["version_id"] for _, details in incidents} == {version_id}


def test_an_empty_file_authenticates_its_blob_like_any_other(http: httpx.Client, runtime: Runtime) -> None:
    file_id, version_id = _upload(http, "empty.txt", b"")
    ok = http.get(f"/api/v1/files/{file_id}/content")
    assert ok.status_code == 200
    assert ok.content == b""
    path = _blob_of(runtime, version_id)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01  # the tag of its one empty segment
    path.write_bytes(bytes(raw))

    refused = http.get(f"/api/v1/files/{file_id}/content")
    assert refused.status_code == 503
    assert refused.json()["code"] == "corrupt_blob"
    ((_, details),) = _incidents(runtime)
    assert details["version_id"] == version_id
