"""One answer for what you may not see: someone else's links, grants, versions, uploads, upload requests
and items answer exactly the 404 body a random id gets, and losing a grant closes an upload in progress."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi.testclient import TestClient

from strongroom.runtime import Runtime
from tests.support.users import UserFixture, make_user

TUS = {"Tus-Resumable": "1.0.0"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def same_as_random(
    client: TestClient, who: UserFixture, method: str, path: str, real: str, **kwargs: object
) -> None:
    """`path` with the real id and with a random one answer the same 404, byte for byte."""
    fake = "zz_" + "0" * 20
    answers = [
        client.request(method, path.format(id=value), headers=who.headers, **kwargs)  # type: ignore[arg-type]
        for value in (real, fake)
    ]
    assert [a.status_code for a in answers] == [404, 404], (path, [a.text for a in answers])
    assert answers[0].content == answers[1].content, path


@pytest.fixture
def alices_things(client: TestClient, runtime: Runtime, alice: UserFixture) -> dict[str, str]:
    carol = make_user(runtime, "carol@force.police.test")
    folder = client.post(
        "/api/v1/folders", json={"name": "Case 9", "parent_id": "root"}, headers=alice.headers
    )
    folder_id = folder.json()["id"]
    put = client.put(f"/api/v1/folders/{folder_id}/files/a.txt", content=b"one", headers=alice.headers)
    file_id = put.json()["id"]
    version_id = client.get(f"/api/v1/files/{file_id}/versions", headers=alice.headers).json()[0]["id"]
    link = client.post(
        f"/api/v1/items/{file_id}/shared-links", json={"access_level": "anyone"}, headers=alice.headers
    )
    grant = client.post(
        f"/api/v1/items/{folder_id}/collaborations",
        json={"role": "viewer", "user_email": carol.email},
        headers=alice.headers,
    )
    request = client.post(
        f"/api/v1/folders/{folder_id}/upload-requests", json={"title": "CCTV please"}, headers=alice.headers
    )
    return {
        "folder": folder_id,
        "file": file_id,
        "version": version_id,
        "link": link.json()["id"],
        "grant": grant.json()["id"],
        "request": request.json()["id"],
    }


def test_others_ids_answer_like_random_ids(
    client: TestClient, alice: UserFixture, bob: UserFixture, alices_things: dict[str, str]
) -> None:
    t = alices_things
    checks = [
        ("GET", "/api/v1/files/{id}", t["file"]),
        ("GET", "/api/v1/files/{id}", t["folder"]),  # a folder's id where a file's belongs
        ("GET", "/api/v1/folders/{id}", t["folder"]),
        ("GET", "/api/v1/folders/{id}", t["file"]),
        ("GET", "/api/v1/folders/{id}/items", t["folder"]),
        ("GET", "/api/v1/files/{id}/content", t["file"]),
        ("GET", "/api/v1/files/{id}/versions", t["file"]),
        ("GET", f"/api/v1/files/{t['file']}/versions/{{id}}/content", t["version"]),
        ("PUT", "/api/v1/items/{id}/classification", t["file"]),
        ("GET", "/api/v1/shared-links/{id}", t["link"]),
        ("PATCH", "/api/v1/shared-links/{id}", t["link"]),
        ("POST", "/api/v1/shared-links/{id}/revoke", t["link"]),
        ("GET", "/api/v1/shared-links/{id}/access-report", t["link"]),
        ("GET", "/api/v1/items/{id}/shared-links", t["file"]),
    ]
    for method, path, real in checks:
        body = {"classification": "SECRET", "reason": "x"} if "classification" in path else {}
        kwargs: dict[str, object] = {"json": body} if method in {"PUT", "PATCH"} else {}
        same_as_random(client, bob, method, path, real, **kwargs)
    same_as_random(client, bob, "DELETE", "/api/v1/collaborations/{id}", t["grant"])
    same_as_random(client, bob, "PATCH", "/api/v1/collaborations/{id}", t["grant"], json={"role": "viewer"})
    same_as_random(client, bob, "POST", "/api/v1/upload-requests/{id}/revoke", t["request"])
    same_as_random(client, bob, "GET", "/api/v1/upload-requests/{id}/submissions", t["request"])


def test_admins_and_co_owners_may_revoke_any_link_on_what_they_govern(
    client: TestClient,
    alice: UserFixture,
    bob: UserFixture,
    admin: UserFixture,
    alices_things: dict[str, str],
) -> None:
    t = alices_things
    r = client.post(f"/api/v1/shared-links/{t['link']}/revoke", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] is not None

    second = client.post(
        f"/api/v1/items/{t['file']}/shared-links", json={"access_level": "anyone"}, headers=alice.headers
    ).json()["id"]
    assert client.post(f"/api/v1/shared-links/{second}/revoke", headers=bob.headers).status_code == 404
    grant = client.post(
        f"/api/v1/items/{t['folder']}/collaborations",
        json={"role": "co-owner", "user_email": bob.email},
        headers=alice.headers,
    )
    assert grant.status_code == 201, grant.text
    r = client.post(f"/api/v1/shared-links/{second}/revoke", headers=bob.headers)
    assert r.status_code == 200, r.text


def test_an_upload_closes_when_its_grant_is_removed(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    folder_id = client.post(
        "/api/v1/folders", json={"name": "Drop", "parent_id": "root"}, headers=alice.headers
    ).json()["id"]
    grant = client.post(
        f"/api/v1/items/{folder_id}/collaborations",
        json={"role": "editor", "user_email": bob.email},
        headers=alice.headers,
    ).json()["id"]
    created = client.post(
        "/api/v1/uploads",
        headers={
            **bob.headers,
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": f"filename {b64('clip.bin')},folder_id {b64(folder_id)}",
        },
    )
    assert created.status_code == 201, created.text
    url = httpx.URL(created.headers["Location"]).path
    assert client.head(url, headers={**bob.headers, **TUS}).status_code == 200

    assert client.delete(f"/api/v1/collaborations/{grant}", headers=alice.headers).status_code == 204
    random = url.rsplit("/", 1)[0] + "/tus_" + "0" * 20
    head, head_random = (client.head(u, headers={**bob.headers, **TUS}) for u in (url, random))
    assert head.status_code == head_random.status_code == 404
    patch_headers = {
        **bob.headers,
        **TUS,
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    }
    patched = client.patch(url, content=b"0123456789", headers=patch_headers)
    patched_random = client.patch(random, content=b"0123456789", headers=patch_headers)
    assert patched.status_code == 404
    assert patched.content == patched_random.content
