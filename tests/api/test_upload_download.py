import base64
import hashlib
import os

from fastapi.testclient import TestClient

from tests.support.users import UserFixture


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
    assert got.headers["repr-digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"
    assert got.headers["etag"] == f'"{body["sha256"]}"'
