"""`If-Range` (RFC 9110 §13.1.5) on every door that serves original bytes, and a download cut short is
recorded: the audit trail says how many bytes left, never that a whole copy did when it did not."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import AsyncIterator, MutableMapping
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.api.streaming import RecordedStream
from strongroom.audit.events import AuditAction
from strongroom.audit.models import AuditEvent
from strongroom.content import reads
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.sharing.test_links import make_link
from tests.support.live import LiveServer
from tests.support.users import UserFixture

DATA = bytes(range(256)) * 40  # 10 240 bytes


def put(client: TestClient, user: UserFixture, name: str, data: bytes) -> str:
    response = client.put(f"/api/v1/folders/root/files/{name}", content=data, headers=user.headers)
    assert response.status_code in {200, 201}, response.text
    return str(response.json()["id"])


def read_events(runtime: Runtime, action: AuditAction) -> list[dict[str, object]]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq)
        )
        return [json.loads(row.details) for row in rows]


def test_rest_download_honours_if_range(client: TestClient, alice: UserFixture, runtime: Runtime) -> None:
    file_id = put(client, alice, "clip.bin", DATA)
    url = f"/api/v1/files/{file_id}/content"
    full = client.get(url, headers=alice.headers)
    etag, modified = full.headers["etag"], full.headers["last-modified"]
    ranged = {**alice.headers, "Range": "bytes=100-199"}

    for validator in [etag, modified]:
        still = client.get(url, headers={**ranged, "If-Range": validator})
        assert (still.status_code, still.content) == (206, DATA[100:200]), validator

    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2001), usegmt=True)
    for validator in ['"someone-elses"', f"W/{etag}", earlier, "not a date"]:
        changed = client.get(url, headers={**ranged, "If-Range": validator})
        assert (changed.status_code, changed.content) == (200, DATA), validator
        assert "content-range" not in changed.headers

    # Once the file has a new version, the old ETag no longer resumes: the client gets the new bytes whole.
    put(client, alice, "clip.bin", DATA[::-1])
    resumed = client.get(url, headers={**ranged, "If-Range": etag})
    assert (resumed.status_code, resumed.content) == (200, DATA[::-1])
    # The trail says what was served: the whole file, not a range.
    assert "range" not in read_events(runtime, AuditAction.CONTENT_READ)[-1]
    # The first version's bytes have not changed, so its ETag still resumes them.
    versions = client.get(f"/api/v1/files/{file_id}/versions", headers=alice.headers).json()
    first = next(v for v in versions if v["number"] == 1)
    old = client.get(
        f"/api/v1/files/{file_id}/versions/{first['id']}/content", headers={**ranged, "If-Range": etag}
    )
    assert (old.status_code, old.content) == (206, DATA[100:200])


def test_shared_link_download_honours_if_range(client: TestClient, alice: UserFixture) -> None:
    file_id = put(client, alice, "cctv.bin", DATA)
    _, token = make_link(client, alice, file_id)
    url = f"/s/{token}/content/{file_id}"
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).content == DATA[:10]
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert (stale.status_code, stale.content) == (200, DATA)


def test_webdav_get_honours_if_range(live_server: LiveServer, alice: UserFixture) -> None:
    with httpx.Client(base_url=f"{live_server.url}/dav", auth=(alice.email, alice.token), timeout=30) as dav:
        assert dav.put("/clip.bin", content=DATA).status_code == 201
        full = dav.get("/clip.bin")
        ranged = {"Range": "bytes=5-9"}
        for validator in [full.headers["etag"], full.headers["last-modified"]]:
            hit = dav.get("/clip.bin", headers={**ranged, "If-Range": validator})
            assert (hit.status_code, hit.content) == (206, DATA[5:10]), validator
        miss = dav.get("/clip.bin", headers={**ranged, "If-Range": '"stale"'})
        assert (miss.status_code, miss.content) == (200, DATA)


BIG = 24 * 1024 * 1024  # well past what loopback socket buffers hold, so the server is still sending


def _cut_download(live_server: LiveServer, path: str, headers: dict[str, str], keep: int) -> int:
    """Read about `keep` bytes of a response over a raw socket, then hang up. Returns bytes read."""
    host, port = "127.0.0.1", live_server.port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # A small, fixed receive buffer: with autotuning, loopback may buffer the whole file (tcp_rmem
        # reaches 32 MiB on some machines) and the server would hand every byte to the connection.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.settimeout(120)
        sock.connect((host, port))
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        got = 0
        while got < keep:
            chunk = sock.recv(65536)
            assert chunk, "the server closed first"
            got += len(chunk)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    return got


def _wait_for(runtime: Runtime, action: AuditAction, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = read_events(runtime, action)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    pytest.fail(f"no {action.value} event was recorded")


@pytest.mark.parametrize("door", ["api", "dav", "link"])
def test_a_download_cut_short_is_recorded_with_the_bytes_sent(
    client: TestClient, live_server: LiveServer, alice: UserFixture, runtime: Runtime, door: str
) -> None:
    data = os.urandom(BIG)
    file_id = put(client, alice, "bodycam.mp4", data)
    if door == "api":
        path, headers = f"/api/v1/files/{file_id}/content", alice.headers
    elif door == "dav":
        basic = base64.b64encode(f"{alice.email}:{alice.token}".encode()).decode()
        path, headers = "/dav/bodycam.mp4", {"Authorization": f"Basic {basic}"}
    else:
        _, token = make_link(client, alice, file_id)
        path, headers = f"/s/{token}/content/{file_id}", {}

    # A download that completes leaves one read event and nothing else.
    with httpx.Client(base_url=live_server.url, timeout=120) as http:
        assert http.get(path, headers=headers).content == data
    assert read_events(runtime, AuditAction.CONTENT_READ_INTERRUPTED) == []

    received = _cut_download(live_server, path, headers, keep=1024 * 1024)
    cut_short = _wait_for(runtime, AuditAction.CONTENT_READ_INTERRUPTED, 1)
    assert len(cut_short) == 1, "the whole download was recorded as cut short too"
    interrupted = cut_short[0]
    assert interrupted["interrupted"] is True
    assert interrupted["via"] == door
    assert interrupted["bytes_expected"] == BIG
    sent = interrupted["bytes_sent"]
    assert isinstance(sent, int)
    assert received - 1024 <= sent < BIG  # headers aside, at least what arrived, and not the whole file
    assert len(read_events(runtime, AuditAction.CONTENT_READ)) == 2


def test_a_client_that_hangs_up_after_the_last_byte_took_a_whole_copy(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    """The race behind a whole download recorded as cut short, made certain: the client has every byte
    and hangs up while the server is still writing the response's end."""
    file_id = put(client, alice, "statement.pdf", DATA)
    with transaction(runtime.sessions) as session:
        content = reads.open_content(session, alice.actor, file_id=file_id, clock=runtime.clock)
    last_byte_out = anyio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield DATA

    async def receive() -> dict[str, object]:
        await last_byte_out.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            last_byte_out.set()
            await anyio.sleep_forever()  # the end of the response is still being written when the client goes

    response = RecordedStream(body(), runtime=runtime, content=content, status_code=200, headers={})
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "method": "GET"}
    anyio.run(response, scope, receive, send)

    assert len(read_events(runtime, AuditAction.CONTENT_READ)) == 1
    assert read_events(runtime, AuditAction.CONTENT_READ_INTERRUPTED) == []


def test_a_304_sends_no_bytes_and_records_no_read(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    file_id = put(client, alice, "note.txt", DATA)
    url = f"/api/v1/files/{file_id}/content"
    etag = client.get(url, headers=alice.headers).headers["etag"]
    assert len(read_events(runtime, AuditAction.CONTENT_READ)) == 1

    unchanged = client.get(url, headers={**alice.headers, "If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert len(read_events(runtime, AuditAction.CONTENT_READ)) == 1, "a 304 was recorded as a read"
    # A stale tag still gets the bytes, and that read is recorded.
    stale = client.get(url, headers={**alice.headers, "If-None-Match": '"someone-elses"'})
    assert (stale.status_code, stale.content) == (200, DATA)
    assert len(read_events(runtime, AuditAction.CONTENT_READ)) == 2
