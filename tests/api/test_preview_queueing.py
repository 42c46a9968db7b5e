"""Every door that stores media queues its preview rendition in the same transaction; what counts as
media is decided by the bytes, not by the name or the client's Content-Type."""

import base64

from fastapi.testclient import TestClient

from strongroom.content.renditions import JOB_KIND
from strongroom.jobs.queue import DatabaseJobQueue
from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def pending_previews(runtime: Runtime) -> int:
    assert isinstance(runtime.jobs, DatabaseJobQueue)
    return runtime.jobs.pending(JOB_KIND)


def test_rest_webdav_and_tus_uploads_of_media_queue_a_preview(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    assert (
        client.put("/api/v1/folders/root/files/notes.txt", content=b"x", headers=alice.headers).status_code
        == 201
    )
    assert pending_previews(runtime) == 0  # nothing to render for plain text
    assert (
        client.put("/api/v1/folders/root/files/call.mp3", content=b"ID3", headers=alice.headers).status_code
        == 201
    )
    assert pending_previews(runtime) == 1
    basic = "Basic " + base64.b64encode(f"{alice.email}:{alice.token}".encode()).decode()
    dav = client.request("PUT", "/dav/cctv.mp4", content=b"\0\0\0 ftyp", headers={"Authorization": basic})
    assert dav.status_code == 201, dav.text
    assert pending_previews(runtime) == 2
    meta = (
        "filename "
        + base64.b64encode(b"bodycam.mp4").decode()
        + ",folder_id "
        + base64.b64encode(b"root").decode()
    )
    fake = client.put("/api/v1/folders/root/files/fake.mp4", content=b"abcd", headers=alice.headers)
    assert fake.status_code == 201
    assert pending_previews(runtime) == 2  # named .mp4, but the bytes are not video
    stored = client.get(f"/api/v1/files/{fake.json()['id']}", headers=alice.headers).json()
    assert stored["content_type"] == "text/plain"
    mp4_head = b"\0\0\0\x18ftypisom"
    created = client.post(
        "/api/v1/uploads",
        headers={
            **alice.headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(mp4_head)),
            "Upload-Metadata": meta,
        },
    )
    assert created.status_code == 201, created.text
    patched = client.patch(
        created.headers["location"],
        content=mp4_head,
        headers={
            **alice.headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert patched.status_code == 204, patched.text
    assert pending_previews(runtime) == 3
