"""Roles in the force: an auditor reads the audit trail and changes nothing; an external guest sees only
what is shared with them; only administrators give roles or sign people out."""

from __future__ import annotations

from fastapi.testclient import TestClient

from strongroom.runtime import Runtime
from tests.api.test_upload_download import upload
from tests.support.users import UserFixture

WHY = {"X-Strongroom-Reason": "Professional standards review 2026/118"}


def make(client: TestClient, admin: UserFixture, user: UserFixture, role: str) -> None:
    answer = client.put(f"/api/v1/users/{user.id}/role", json={"role": role}, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == role


def test_an_auditor_reads_the_audit_trail_and_changes_nothing(
    client: TestClient, admin: UserFixture, alice: UserFixture, bob: UserFixture
) -> None:
    file = upload(client, bob, "interview.mp4", b"recording")
    assert client.get("/api/v1/audit/events", headers={**alice.headers, **WHY}).status_code == 403
    make(client, admin, alice, "auditor")
    events = client.get("/api/v1/audit/events", headers={**alice.headers, **WHY})
    assert events.status_code == 200
    assert any(e["item_id"] == file["id"] for e in events.json()["events"])
    report = client.get(f"/api/v1/items/{file['id']}/access-report", headers={**alice.headers, **WHY})
    assert report.status_code == 200
    assert client.get(f"/api/v1/users/{bob.id}/activity", headers={**alice.headers, **WHY}).status_code == 200
    # Read-only: no checkpoint, no role changes, no sign-outs, and no way into the files themselves.
    assert client.post("/api/v1/audit/checkpoints", headers=alice.headers).status_code == 403
    assert (
        client.put(f"/api/v1/users/{bob.id}/role", json={"role": "admin"}, headers=alice.headers).status_code
        == 404
    )
    assert client.post(f"/api/v1/users/{bob.id}/sign-out", headers=alice.headers).status_code == 404
    assert client.get(f"/api/v1/files/{file['id']}/content", headers=alice.headers).status_code == 404


def test_a_guest_sees_only_what_is_shared_with_them(
    client: TestClient, admin: UserFixture, alice: UserFixture, bob: UserFixture
) -> None:
    own = upload(client, bob, "own-notes.txt", b"mine")
    shared = upload(client, alice, "disclosure.pdf", b"%PDF-1.7 disclosure")
    secret = upload(client, alice, "not-for-guests.txt", b"internal")
    groups = client.post("/api/v1/groups", json={"name": "Major Crimes"}, headers=admin.headers)
    assert groups.status_code == 201, groups.text
    make(client, admin, bob, "guest")
    grant = client.post(
        f"/api/v1/items/{shared['id']}/collaborations",
        json={"role": "viewer", "user_email": bob.email},
        headers=alice.headers,
    )
    assert grant.status_code == 201, grant.text
    assert (
        client.get(f"/api/v1/files/{shared['id']}/content", headers=bob.headers).content
        == b"%PDF-1.7 disclosure"
    )
    assert client.get(f"/api/v1/files/{secret['id']}", headers=bob.headers).status_code == 404
    assert (
        client.get(f"/api/v1/files/{own['id']}", headers=bob.headers).status_code == 404
    )  # guests own nothing
    assert client.get("/api/v1/groups", headers=bob.headers).json() == []  # nor see the directory
    assert client.get("/api/v1/groups", headers=alice.headers).json() != []
    make(client, admin, bob, "user")
    assert client.get(f"/api/v1/files/{own['id']}", headers=bob.headers).status_code == 200


def test_only_an_admin_changes_roles_and_never_their_own(
    client: TestClient, admin: UserFixture, alice: UserFixture, runtime: Runtime
) -> None:
    assert (
        client.put(f"/api/v1/users/{admin.id}/role", json={"role": "user"}, headers=alice.headers).status_code
        == 404
    )
    own = client.put(f"/api/v1/users/{admin.id}/role", json={"role": "user"}, headers=admin.headers)
    assert own.status_code == 409  # the only administrator: that comes first (test_break_glass.py)
    assert own.json()["code"] == "last_admin"
    assert (
        client.put(
            f"/api/v1/users/{admin.id}/role", json={"role": "admin"}, headers=admin.headers
        ).status_code
        == 403
    )
    bad = client.put(f"/api/v1/users/{alice.id}/role", json={"role": "superuser"}, headers=admin.headers)
    assert bad.status_code in (400, 422)
    make(client, admin, alice, "admin")
    assert client.get("/api/v1/me", headers=alice.headers).json()["is_admin"] is True


def test_an_admin_disabling_an_account_releases_its_locks_and_uploads(
    client: TestClient, runtime: Runtime, admin: UserFixture, alice: UserFixture
) -> None:
    from sqlalchemy import func, select

    from strongroom.content.dav_locks import DavLock
    from strongroom.content.models import TusUpload
    from strongroom.db.session import transaction
    from tests.api.test_tus import TUS, b64

    dav = (alice.email, alice.token)
    assert client.put("/dav/report.txt", content=b"v1", auth=dav).status_code in (200, 201, 204)
    lockinfo = (
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
        "<D:locktype><D:write/></D:locktype></D:lockinfo>"
    )
    assert client.request("LOCK", "/dav/report.txt", content=lockinfo, auth=dav).status_code == 200
    meta = f"filename {b64('clip.bin')},folder_id {b64('root')}"
    started = client.post(
        "/api/v1/uploads", headers={**alice.headers, **TUS, "Upload-Length": "100", "Upload-Metadata": meta}
    )
    assert started.status_code == 201, started.text
    assert client.post(f"/api/v1/users/{alice.id}/disable", headers=alice.headers).status_code == 404
    assert client.post(f"/api/v1/users/{alice.id}/disable", headers=admin.headers).status_code == 200
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(DavLock)) == 0
        assert session.scalar(select(func.count()).select_from(TusUpload)) == 0


def test_a_guest_who_may_share_still_sees_no_directory_on_the_web(
    client: TestClient, admin: UserFixture, alice: UserFixture, bob: UserFixture
) -> None:
    """The web's people panel offers the force's groups to whoever may share; a guest editor may share
    (by e-mail) but must not read the directory there any more than through the API."""
    from tests.web.test_pages import sign_in

    folder = client.post(
        "/api/v1/folders", json={"name": "Disclosure", "parent_id": "root"}, headers=alice.headers
    )
    assert folder.status_code == 201, folder.text
    groups = client.post("/api/v1/groups", json={"name": "Covert Ops Unit"}, headers=admin.headers)
    assert groups.status_code == 201, groups.text
    grant = client.post(
        f"/api/v1/items/{folder.json()['id']}/collaborations",
        json={"role": "editor", "user_email": bob.email},
        headers=alice.headers,
    )
    assert grant.status_code == 201, grant.text
    sign_in(client, bob.email)
    assert "Covert Ops Unit" in client.get(f"/files/{folder.json()['id']}").text  # staff see the directory
    make(client, admin, bob, "guest")
    page = client.get(f"/files/{folder.json()['id']}")
    assert page.status_code == 200
    assert "Covert Ops Unit" not in page.text
