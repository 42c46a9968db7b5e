"""tus 1.0 at /api/v1/uploads, spoken by hand over real HTTP (httpx against a live server)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from strongroom.app import create_app
from strongroom.audit.models import AuditEvent
from strongroom.config import Settings
from strongroom.content.models import FileVersion, TusUpload
from strongroom.db.session import transaction
from strongroom.jobs import tasks
from strongroom.runtime import Runtime
from strongroom.storage.sealed_stream import NONCE_PREFIX_SIZE
from tests.support.live import LiveServer, start_live_server
from tests.support.users import UserFixture

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = {"Content-Type": "application/offset+octet-stream"}
SEG = 64 * 1024  # the test settings' segment size


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(
    http: httpx.Client, user: UserFixture, length: int, *, name: str = "clip.bin", folder: str = "root"
) -> str:
    response = http.post(
        "/api/v1/uploads",
        headers={
            **user.headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": f"filename {b64(name)},folder_id {b64(folder)},filetype {b64('video/mp4')}",
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0"
    return response.headers["Location"]


def patch(
    http: httpx.Client, user: UserFixture, url: str, offset: int, body: bytes, **extra: str
) -> httpx.Response:
    return http.patch(
        url,
        content=body,
        headers={**user.headers, **TUS, **OFFSET_TYPE, "Upload-Offset": str(offset), **extra},
    )


def offset_of(http: httpx.Client, user: UserFixture, url: str) -> int:
    response = http.head(url, headers={**user.headers, **TUS})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def resumables(runtime: Runtime) -> list[Path]:
    return list((runtime.settings.blob_path / ".resumable").iterdir())


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def test_options_advertise_the_extensions(http: httpx.Client, runtime: Runtime) -> None:
    response = http.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "expiration",
        "checksum",
        "termination",
    }
    assert int(response.headers["Tus-Max-Size"]) == runtime.settings.limits.max_upload_bytes
    assert set(response.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256", "md5"}


def test_chunks_make_the_same_file_as_a_plain_put(
    http: httpx.Client, alice: UserFixture, runtime: Runtime
) -> None:
    data = os.urandom(5 * SEG + 1234)
    url = create(http, alice, len(data))
    assert offset_of(http, alice, url) == 0
    # Cuts inside a segment, on a segment boundary and across several segments.
    cuts = [0, 1000, SEG, SEG + 1, 4 * SEG + 7, len(data)]
    for start, end in itertools.pairwise(cuts):
        response = patch(http, alice, url, start, data[start:end])
        assert response.status_code == 204, response.text
        assert int(response.headers["Upload-Offset"]) == end
        assert offset_of(http, alice, url) == end
        if end < len(data):
            assert parsedate_to_datetime(response.headers["Upload-Expires"]) > runtime.clock.now()
    file_url = response.headers["Location"]

    plain = http.put("/api/v1/folders/root/files/plain.bin", content=data, headers=alice.headers)
    assert plain.status_code == 201
    info = http.get(file_url, headers=alice.headers).json()
    assert info["name"] == "clip.bin"
    # Random bytes: the declared video/mp4 is a claim the bytes do not prove, so it is not kept.
    assert info["content_type"] == "application/octet-stream"
    assert info["sha256"] == plain.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert http.get(f"{file_url}/content", headers=alice.headers).content == data
    with transaction(runtime.sessions) as session:
        tus_version = session.get(FileVersion, info["version_id"])
        put_version = session.get(FileVersion, plain.json()["version_id"])
        assert tus_version is not None
        assert put_version is not None
        assert (tus_version.size, tus_version.sha256, tus_version.segment_size, tus_version.number) == (
            put_version.size,
            put_version.sha256,
            put_version.segment_size,
            put_version.number,
        )
        # The tus blob's segments each carry their own nonce prefix (format 2): the same layout otherwise.
        segments = -(-len(data) // SEG)
        tus_size = runtime.blobs.size(tus_version.blob_key)
        assert tus_size == runtime.blobs.size(put_version.blob_key) + segments * NONCE_PREFIX_SIZE
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.item_id == info["id"])))
    # The same events as a plain PUT (and the read of the download above).
    assert actions == ["content.file.created", "content.version.created", "content.version.read"]
    assert resumables(runtime) == []
    # The finished upload still answers HEAD, so a client that lost the last response can check.
    assert offset_of(http, alice, url) == len(data)


def test_creation_with_upload_and_empty_files(http: httpx.Client, alice: UserFixture) -> None:
    data = os.urandom(SEG + 10)
    response = http.post(
        "/api/v1/uploads",
        content=data[:100],
        headers={
            **alice.headers,
            **TUS,
            **OFFSET_TYPE,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"filename {b64('first.bin')}",
        },
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "100"
    url = response.headers["Location"]
    assert patch(http, alice, url, 100, data[100:]).status_code == 204

    empty = http.post(
        "/api/v1/uploads",
        headers={
            **alice.headers,
            **TUS,
            **OFFSET_TYPE,
            "Upload-Length": "0",
            "Upload-Metadata": f"filename {b64('empty.txt')}",
        },
    )
    assert empty.status_code == 201
    assert empty.headers["Upload-Offset"] == "0"
    listing = http.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"]
    sizes = {item["name"]: (item["size"], item["sha256"]) for item in listing}
    assert sizes == {
        "first.bin": (len(data), hashlib.sha256(data).hexdigest()),
        "empty.txt": (0, hashlib.sha256(b"").hexdigest()),
    }


def test_protocol_errors(http: httpx.Client, alice: UserFixture, bob: UserFixture, runtime: Runtime) -> None:
    url = create(http, alice, 1000)
    assert patch(http, alice, url, 0, b"a" * 300).status_code == 204

    wrong = patch(http, alice, url, 100, b"b" * 10)
    assert wrong.status_code == 409
    assert wrong.headers["Upload-Offset"] == "300"
    assert wrong.json()["code"] == "offset_mismatch"
    no_version = http.patch(
        url, content=b"x", headers={**alice.headers, **OFFSET_TYPE, "Upload-Offset": "300"}
    )
    assert no_version.status_code == 412
    assert no_version.headers["Tus-Version"] == "1.0.0"
    bad_type = http.patch(url, content=b"x", headers={**alice.headers, **TUS, "Upload-Offset": "300"})
    assert bad_type.status_code == 415
    past_end = patch(http, alice, url, 300, b"c" * 701)
    assert past_end.status_code == 400
    assert http.head(url, headers={**bob.headers, **TUS}).status_code == 404
    assert patch(http, bob, url, 300, b"x").status_code == 404
    assert http.head(url, headers=TUS).status_code == 401
    assert offset_of(http, alice, url) == 300

    too_big = http.post(
        "/api/v1/uploads",
        headers={
            **alice.headers,
            **TUS,
            "Upload-Length": str(runtime.settings.limits.max_upload_bytes + 1),
            "Upload-Metadata": f"filename {b64('big.bin')}",
        },
    )
    assert too_big.status_code == 413
    no_name = http.post("/api/v1/uploads", headers={**alice.headers, **TUS, "Upload-Length": "1"})
    assert no_name.status_code == 400
    elsewhere = http.post(
        "/api/v1/uploads",
        headers={
            **bob.headers,
            **TUS,
            "Upload-Length": "1",
            "Upload-Metadata": f"filename {b64('x')},folder_id {b64(alice.root_id)}",
        },
    )
    assert elsewhere.status_code == 404


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
def test_checksum_mismatch_discards_the_chunk(http: httpx.Client, alice: UserFixture, algorithm: str) -> None:
    data = os.urandom(3 * SEG)
    url = create(http, alice, len(data))

    def checksum(body: bytes) -> str:
        return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, body).digest()).decode()}"

    ok = patch(http, alice, url, 0, data[: SEG + 5], **{"Upload-Checksum": checksum(data[: SEG + 5])})
    assert ok.status_code == 204
    corrupted = bytearray(data[SEG + 5 :])
    corrupted[SEG] ^= 0xFF  # flipped in transit; the checksum is of the right bytes
    bad = patch(http, alice, url, SEG + 5, bytes(corrupted), **{"Upload-Checksum": checksum(data[SEG + 5 :])})
    assert bad.status_code == 460
    assert offset_of(http, alice, url) == SEG + 5
    good = patch(http, alice, url, SEG + 5, data[SEG + 5 :], **{"Upload-Checksum": checksum(data[SEG + 5 :])})
    assert good.status_code == 204
    info = http.get(good.headers["Location"], headers=alice.headers).json()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    unknown = patch(http, alice, create(http, alice, 1), 0, b"x", **{"Upload-Checksum": "crc32 AAAA"})
    assert unknown.status_code == 400


def test_termination_removes_the_stored_bytes(
    http: httpx.Client, alice: UserFixture, runtime: Runtime
) -> None:
    url = create(http, alice, 4 * SEG)
    assert patch(http, alice, url, 0, os.urandom(2 * SEG + 3)).status_code == 204
    assert len(resumables(runtime)) == 1
    response = http.delete(url, headers={**alice.headers, **TUS})
    assert response.status_code == 204
    assert resumables(runtime) == []
    assert http.head(url, headers={**alice.headers, **TUS}).status_code == 404
    assert patch(http, alice, url, 2 * SEG + 3, b"x").status_code == 404
    with transaction(runtime.sessions) as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert "content.upload.started" in actions
    assert "content.upload.terminated" in actions


def test_expired_uploads_are_refused_then_cleaned_up(
    http: httpx.Client, alice: UserFixture, runtime: Runtime
) -> None:
    stale = create(http, alice, 3 * SEG)
    fresh = create(http, alice, 3 * SEG)
    for url in (stale, fresh):
        assert patch(http, alice, url, 0, os.urandom(SEG + 1)).status_code == 204
    stale_id = stale.rsplit("/", 1)[1]
    with transaction(runtime.sessions) as session:
        session.execute(
            update(TusUpload)
            .where(TusUpload.id == stale_id)
            .values(expires_at=runtime.clock.now() - timedelta(minutes=1))
        )
    assert http.head(stale, headers={**alice.headers, **TUS}).status_code == 410
    assert patch(http, alice, stale, SEG + 1, b"x").status_code == 410
    assert len(resumables(runtime)) == 2

    tasks.expire_uploads(runtime)
    assert len(resumables(runtime)) == 1
    assert http.head(stale, headers={**alice.headers, **TUS}).status_code == 404
    assert offset_of(http, alice, fresh) == SEG + 1
    with transaction(runtime.sessions) as session:
        assert "content.upload.expired" in set(session.scalars(select(AuditEvent.action)))


def _send_partial_patch(
    server_url: str, user: UserFixture, path: str, offset: int, declared: int, body: bytes
) -> None:
    """A PATCH whose connection drops after `body`, before the `declared` length arrived."""
    where = urlsplit(server_url)
    with socket.create_connection((where.hostname, where.port)) as sock:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer {user.token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: {offset}\r\nContent-Length: {declared}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        time.sleep(0.3)


def test_a_dropped_connection_keeps_what_arrived(
    http: httpx.Client, alice: UserFixture, live_server: LiveServer
) -> None:
    data = os.urandom(4 * SEG + 99)
    url = create(http, alice, len(data))
    _send_partial_patch(live_server.url, alice, url, 0, len(data), data[: 2 * SEG + 500])
    deadline = time.monotonic() + 10
    while (got := offset_of(http, alice, url)) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the drop, then stores what came
    assert got == 2 * SEG + 500
    response = patch(http, alice, url, got, data[got:])
    assert response.status_code == 204, response.text
    info = http.get(response.headers["Location"], headers=alice.headers).json()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()


def test_resume_after_a_server_restart(settings: Settings, alice: UserFixture, runtime: Runtime) -> None:
    """A fresh Runtime and app (no hash state in memory) on the same data dir and database continue."""
    data = os.urandom(6 * SEG + 3)
    first = start_live_server(create_app(runtime))
    with httpx.Client(base_url=first.url, timeout=30) as http:
        url = create(http, alice, len(data))
        assert patch(http, alice, url, 0, data[: 3 * SEG + 11]).status_code == 204
    first.stop()

    again = Runtime.build(settings)
    second = start_live_server(create_app(again))
    try:
        with httpx.Client(base_url=second.url, timeout=30) as http:
            offset = offset_of(http, alice, url)
            assert offset == 3 * SEG + 11
            response = patch(http, alice, url, offset, data[offset:])
            assert response.status_code == 204, response.text
            info = http.get(response.headers["Location"], headers=alice.headers).json()
            assert info["sha256"] == hashlib.sha256(data).hexdigest()
            assert http.get(response.headers["Location"] + "/content", headers=alice.headers).content == data
    finally:
        second.stop()
        again.close()


def test_key_rotation_rewraps_uploads_in_progress(
    http: httpx.Client, alice: UserFixture, runtime: Runtime
) -> None:
    from strongroom.content import maintenance, scrub

    data = os.urandom(2 * SEG + 5)
    url = create(http, alice, len(data))
    assert patch(http, alice, url, 0, data[: SEG + 1]).status_code == 204
    maintenance.rotate_keys(runtime.sessions, runtime.keys, clock=runtime.clock, retire_old=True)
    response = patch(http, alice, url, SEG + 1, data[SEG + 1 :])
    assert response.status_code == 204, response.text
    report = scrub.verify_all(runtime.sessions, runtime.blobs, runtime.keys, clock=runtime.clock)
    assert report.failures == []
    assert report.checked["version"] == 1
