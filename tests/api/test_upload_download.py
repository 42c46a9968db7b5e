import base64
import hashlib
import os

import pytest
from fastapi.testclient import TestClient

from tests.support.users import UserFixture


def b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def upload(
    client: TestClient, user: UserFixture, name: str, data: bytes, folder: str = "root"
) -> dict[str, object]:
    response = client.put(f"/api/v1/folders/{folder}/files/{name}", content=data, headers=user.headers)
    assert response.status_code in {200, 201}, response.text
    body: dict[str, object] = response.json()
    return body


def test_put_then_get_returns_identical_bytes_and_digest(client: TestClient, alice: UserFixture) -> None:
    data = os.urandom(300_000)
    put = client.put("/api/v1/folders/root/files/call-999.wav", content=data, headers=alice.headers)
    assert put.status_code == 201, put.text
    body = put.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == len(data)

    got = client.get(f"/api/v1/files/{body['id']}/content", headers=alice.headers)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["repr-digest"] == f"sha-256=:{b64(data)}:"
    assert got.headers["etag"] == f'"{body["sha256"]}"'
    assert got.headers["x-content-type-options"] == "nosniff"


def test_empty_file_round_trips(client: TestClient, alice: UserFixture) -> None:
    body = upload(client, alice, "empty.txt", b"")
    assert body["size"] == 0
    assert body["sha256"] == hashlib.sha256(b"").hexdigest()
    got = client.get(f"/api/v1/files/{body['id']}/content", headers=alice.headers)
    assert got.status_code == 200
    assert got.content == b""


def test_matching_repr_digest_is_accepted_and_mismatch_stores_nothing(
    client: TestClient, alice: UserFixture
) -> None:
    data = os.urandom(100_000)
    ok = client.put(
        "/api/v1/folders/root/files/exhibit.bin",
        content=data,
        headers={**alice.headers, "Repr-Digest": f"sha-256=:{b64(data)}:"},
    )
    assert ok.status_code == 201
    bad = client.put(
        "/api/v1/folders/root/files/other.bin",
        content=data,
        headers={**alice.headers, "Content-Digest": f"sha-256=:{b64(b'something else')}:"},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "digest_mismatch"
    names = [
        item["name"]
        for item in client.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"]
    ]
    assert names == ["exhibit.bin"]


def test_malformed_digest_header_is_a_clear_400(client: TestClient, alice: UserFixture) -> None:
    response = client.put(
        "/api/v1/folders/root/files/x.bin",
        content=b"abc",
        headers={**alice.headers, "Repr-Digest": "sha-256=notbase64"},
    )
    assert response.status_code == 400
    assert "sha-256" in response.json()["message"]


@pytest.mark.parametrize(
    ("range_header", "expected"),
    [
        ("bytes=0-0", slice(0, 1)),
        ("bytes=1000-199999", slice(1000, 200000)),
        ("bytes=199990-", slice(199990, 200000)),
        ("bytes=-10", slice(199990, 200000)),
        ("bytes=65530-65545", slice(65530, 65546)),  # across a segment boundary (64 KiB segments in tests)
        ("bytes=150000-999999999", slice(150000, 200000)),
    ],
)
def test_range_reads_return_exact_slices(
    client: TestClient, alice: UserFixture, range_header: str, expected: slice
) -> None:
    data = os.urandom(200_000)
    file_id = upload(client, alice, "cctv.mp4", data)["id"]
    got = client.get(f"/api/v1/files/{file_id}/content", headers={**alice.headers, "Range": range_header})
    assert got.status_code == 206
    assert got.content == data[expected]
    assert got.headers["content-range"] == f"bytes {expected.start}-{expected.stop - 1}/200000"
    assert got.headers["repr-digest"] == f"sha-256=:{b64(data)}:"


@pytest.mark.parametrize(
    "range_header", ["bytes=200000-", "bytes=5-2", "bytes=abc", "items=0-5", "bytes=0-1,5-6", "bytes=-0"]
)
def test_unsatisfiable_or_garbage_ranges_get_416(
    client: TestClient, alice: UserFixture, range_header: str
) -> None:
    file_id = upload(client, alice, "a.bin", os.urandom(200_000))["id"]
    got = client.get(f"/api/v1/files/{file_id}/content", headers={**alice.headers, "Range": range_header})
    assert got.status_code == 416
    assert got.json()["code"] == "range_not_satisfiable"
    assert got.headers["content-range"] == "bytes */200000"


def test_body_over_the_limit_is_refused_and_nothing_is_stored(
    client: TestClient, alice: UserFixture, runtime: object
) -> None:
    from strongroom.runtime import Runtime

    assert isinstance(runtime, Runtime)
    limit = runtime.settings.limits.max_upload_bytes

    def chunks():  # no Content-Length: the limit must hold while streaming
        sent = 0
        while sent <= limit:
            yield b"\0" * (1 << 20)
            sent += 1 << 20

    response = client.put("/api/v1/folders/root/files/huge.bin", content=chunks(), headers=alice.headers)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    declared = client.put(
        "/api/v1/folders/root/files/huge.bin",
        content=b"x",
        headers={**alice.headers, "Content-Length": str(limit + 1)},
    )
    assert declared.status_code == 413
    assert client.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"] == []
    assert list(runtime.blobs.list_blobs()) == []


def test_if_none_match_gives_304(client: TestClient, alice: UserFixture) -> None:
    body = upload(client, alice, "a.txt", b"hello")
    got = client.get(
        f"/api/v1/files/{body['id']}/content",
        headers={**alice.headers, "If-None-Match": f'"{body["sha256"]}"'},
    )
    assert got.status_code == 304
