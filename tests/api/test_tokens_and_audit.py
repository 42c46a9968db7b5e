import os
import socket
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.api.test_upload_download import upload
from tests.support.live import LiveServer
from tests.support.users import UserFixture


def events(runtime: Runtime) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_tokens_can_be_issued_listed_and_revoked_at_once(client: TestClient, alice: UserFixture) -> None:
    created = client.post("/api/v1/me/tokens", json={"name": "rclone"}, headers=alice.headers)
    assert created.status_code == 201
    new = created.json()
    headers = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/v1/me", headers=headers).json()["email"] == alice.email
    listed = client.get("/api/v1/me/tokens", headers=alice.headers).json()
    assert {t["name"] for t in listed} == {"tests", "rclone"}
    assert all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/me/tokens/{new['id']}", headers=alice.headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_revoked_token_stops_ranged_reads_at_the_next_request(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    # Range GETs check the token inside the read's own transaction (issue 14): still at every request.
    file = upload(client, alice, "clip.bin", b"0123456789" * 100)
    token = client.post("/api/v1/me/tokens", json={"name": "player"}, headers=alice.headers).json()
    headers = {"Authorization": f"Bearer {token['token']}", "Range": "bytes=10-19"}
    url = f"/api/v1/files/{file['id']}/content"
    first = client.get(url, headers=headers)
    assert (first.status_code, first.content) == (206, b"0123456789")
    assert client.delete(f"/api/v1/me/tokens/{token['id']}", headers=alice.headers).status_code == 204
    reads_before = [e.action for e in events(runtime)].count("content.version.read")
    refused = client.get(url, headers=headers)
    assert refused.status_code == 401
    actions = [e.action for e in events(runtime)]
    assert actions[-1] == "identity.token.rejected"
    assert actions.count("content.version.read") == reads_before  # nothing read, nothing recorded


def test_expired_tokens_are_refused(client: TestClient, alice: UserFixture) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    token = client.post(
        "/api/v1/me/tokens", json={"name": "old", "expires_at": past}, headers=alice.headers
    ).json()["token"]
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_every_change_and_every_read_is_audited_with_who_and_where(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    file = upload(client, alice, "999-call.wav", b"caller audio")
    client.get(f"/api/v1/files/{file['id']}/content", headers={**alice.headers, "User-Agent": "pytest-agent"})
    client.get(f"/api/v1/files/{file['id']}/content", headers={**alice.headers, "Range": "bytes=0-3"})
    client.patch(f"/api/v1/files/{file['id']}", json={"name": "999-call-2026.wav"}, headers=alice.headers)
    client.delete(f"/api/v1/files/{file['id']}", headers=alice.headers)
    about_file = [e for e in events(runtime) if e.item_id == file["id"]]
    assert [e.action for e in about_file] == [
        "content.file.created",
        "content.version.created",
        "content.version.read",
        "content.version.read",
        "content.item.renamed",
        "content.item.trashed",
    ]
    first_read = about_file[2]
    assert first_read.actor_label == alice.email
    assert first_read.user_agent == "pytest-agent"
    assert first_read.ip is not None
    assert '"range":[0,3]' in about_file[3].details
    seqs = [e.seq for e in events(runtime)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_refused_change_leaves_no_audit_event(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    client.post("/api/v1/folders", json={"name": "Case", "parent_id": "root"}, headers=alice.headers)
    before = len(events(runtime))
    clash = client.post("/api/v1/folders", json={"name": "case", "parent_id": "root"}, headers=alice.headers)
    assert clash.status_code == 409
    assert len(events(runtime)) == before


def test_client_that_disconnects_mid_upload_stores_nothing(
    live_server: LiveServer, alice: UserFixture, runtime: Runtime, client: TestClient
) -> None:
    partials = runtime.settings.blob_path / ".partial"

    def leftovers() -> list[object]:
        return [*runtime.blobs.list_blobs(), *(partials.iterdir() if partials.exists() else [])]

    # Hang up only once the server is writing the upload: a server busy loading its routes may reach
    # the request after a quicker hang-up, and an empty store seen before it started proves nothing.
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(
            (
                "PUT /api/v1/folders/root/files/cctv.mp4 HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {alice.token}\r\nContent-Length: {4 * 1024 * 1024}\r\n\r\n"
            ).encode()
        )
        sock.sendall(os.urandom(2 * 1024 * 1024))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not leftovers():
            time.sleep(0.05)
        assert leftovers(), "the server never started writing the upload"

    # The server notices the disconnect and removes the partial blob on its own time; a busy machine
    # may take a while, so wait generously for the outcome instead of timing it.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and leftovers():
        time.sleep(0.1)
    assert client.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"] == []
    assert leftovers() == []
