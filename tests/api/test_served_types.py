"""Stored content leaves the server only with an inert type: HTML, SVG and anything not on the allow-list
go as `application/octet-stream` attachments, with `nosniff`, on every door (REST, a version's
content, WebDAV GET and HEAD, shared links); what the client declared changes nothing."""

import base64

import pytest
from fastapi.testclient import TestClient

from tests.support.users import UserFixture

PAGE = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>"
DRAWING = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def dav_auth(user: UserFixture) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user.email}:{user.token}".encode()).decode()}


def doors(client: TestClient, alice: UserFixture, name: str, data: bytes, declared: str) -> dict[str, object]:
    """Store `data` as `name` and fetch it through every door that serves content."""
    put = client.put(
        f"/api/v1/folders/root/files/{name}",
        content=data,
        headers={**alice.headers, "Content-Type": declared},
    )
    assert put.status_code == 201, put.text
    file_id, version_id = put.json()["id"], put.json()["version_id"]
    link = client.post(f"/api/v1/items/{file_id}/shared-links", json={}, headers=alice.headers)
    assert link.status_code == 201, link.text
    token = link.json()["url"].rsplit("/s/", 1)[1]
    return {
        "rest": client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers),
        "rest range": client.get(
            f"/api/v1/files/{file_id}/content", headers={**alice.headers, "Range": "bytes=0-9"}
        ),
        "rest version": client.get(
            f"/api/v1/files/{file_id}/versions/{version_id}/content", headers=alice.headers
        ),
        "dav get": client.get(f"/dav/{name}", headers=dav_auth(alice)),
        "dav head": client.head(f"/dav/{name}", headers=dav_auth(alice)),
        "shared link": client.get(f"/s/{token}/content/{file_id}"),
    }


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("statement.html", PAGE, "text/html"),
        ("statement.html", PAGE, "text/plain"),  # a harmless claim does not make it harmless
        ("photo.png", PAGE, "image/png"),  # nor does a false one
        ("map.svg", DRAWING, "image/svg+xml"),
        ("map.svg", DRAWING, "application/octet-stream"),
    ],
)
def test_markup_is_an_octet_stream_attachment_on_every_door(
    client: TestClient, alice: UserFixture, name: str, data: bytes, declared: str
) -> None:
    for door, response in doors(client, alice, name, data, declared).items():
        assert response.status_code in {200, 206}, (door, response.status_code, response.text)  # type: ignore[attr-defined]
        headers = response.headers  # type: ignore[attr-defined]
        assert headers["content-type"] == "application/octet-stream", door
        assert headers["x-content-type-options"] == "nosniff", door
        if door != "dav head":
            assert headers["content-disposition"].startswith("attachment;"), door


def test_inert_types_keep_their_type(client: TestClient, alice: UserFixture) -> None:
    for door, response in doors(client, alice, "scene.bin", PNG, "application/octet-stream").items():
        headers = response.headers  # type: ignore[attr-defined]
        assert headers["content-type"] == "image/png", door
        assert headers["x-content-type-options"] == "nosniff", door


def test_every_upload_door_records_the_type_of_the_bytes(client: TestClient, alice: UserFixture) -> None:
    dav = client.put(
        "/dav/upload.png", content=PAGE, headers={**dav_auth(alice), "Content-Type": "image/png"}
    )
    assert dav.status_code == 201, dav.text
    meta = (
        "filename "
        + base64.b64encode(b"tus.png").decode()
        + ",filetype "
        + base64.b64encode(b"image/png").decode()
    )
    tus = {**alice.headers, "Tus-Resumable": "1.0.0"}
    created = client.post(
        "/api/v1/uploads", headers={**tus, "Upload-Length": str(len(DRAWING)), "Upload-Metadata": meta}
    )
    assert created.status_code == 201, created.text
    patched = client.patch(
        created.headers["location"],
        content=DRAWING,
        headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert patched.status_code == 204, patched.text
    listed = client.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"]
    types = {item["name"]: item["content_type"] for item in listed}
    assert types["upload.png"] == "text/html"
    assert types["tus.png"] == "image/svg+xml"
