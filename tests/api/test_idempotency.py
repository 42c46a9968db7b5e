"""`Idempotency-Key` on REST POST and PUT: a retry gets the first answer and never makes a second
version, folder or copy; the key on another request is refused; keys are forgotten after their
lifetime; concurrent retries leave one result."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from strongroom.config import Settings
from strongroom.db.session import transaction
from strongroom.idempotency import keys
from strongroom.idempotency.models import IdempotencyRecord
from strongroom.runtime import Runtime
from tests.support.clock import AdjustableClock
from tests.support.live import LiveServer
from tests.support.users import UserFixture

URL = "/api/v1/folders/root/files/exhibit.bin"


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
def runtime(settings: Settings, clock: AdjustableClock) -> Iterator[Runtime]:
    rt = Runtime.build(settings, clock=clock)
    yield rt
    rt.close()


def versions(client: TestClient, user: UserFixture, file_id: str) -> list[int]:
    return sorted(
        v["number"] for v in client.get(f"/api/v1/files/{file_id}/versions", headers=user.headers).json()
    )


def test_a_retried_upload_returns_the_first_result_and_makes_no_second_version(
    client: TestClient, alice: UserFixture
) -> None:
    headers = {**alice.headers, "Idempotency-Key": "upload-7f3c"}
    first = client.put(URL, content=b"exhibit bytes", headers=headers)
    assert first.status_code == 201
    retry = client.put(URL, content=b"exhibit bytes", headers=headers)
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["etag"] == first.headers["etag"]
    assert versions(client, alice, first.json()["id"]) == [1]
    # Without a key, the same PUT is a new version, as before.
    assert client.put(URL, content=b"exhibit bytes", headers=alice.headers).status_code == 200
    assert versions(client, alice, first.json()["id"]) == [1, 2]


def test_the_same_key_on_a_different_request_is_refused(client: TestClient, alice: UserFixture) -> None:
    headers = {**alice.headers, "Idempotency-Key": "k-1"}
    assert client.put(URL, content=b"abc", headers=headers).status_code == 201
    digest = base64.b64encode(hashlib.sha256(b"abd").digest()).decode()
    for other in [
        client.put(URL, content=b"abcd", headers=headers),  # another length
        client.put(URL, content=b"abd", headers={**headers, "Repr-Digest": f"sha-256=:{digest}:"}),
        client.put("/api/v1/folders/root/files/other.bin", content=b"abc", headers=headers),
        client.post("/api/v1/folders", json={"parent_id": "root", "name": "Case"}, headers=headers),
    ]:
        assert other.status_code == 409, other.text
        assert other.json()["code"] == "idempotency_key_reused"
    names = [
        i["name"] for i in client.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"]
    ]
    assert names == ["exhibit.bin"]


def test_keys_belong_to_one_caller(client: TestClient, alice: UserFixture, bob: UserFixture) -> None:
    mine = client.put(URL, content=b"a", headers={**alice.headers, "Idempotency-Key": "shared"})
    theirs = client.put(URL, content=b"a", headers={**bob.headers, "Idempotency-Key": "shared"})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_folder_creation_and_copy_are_idempotent(client: TestClient, alice: UserFixture) -> None:
    body = {"parent_id": "root", "name": "Case 42"}
    headers = {**alice.headers, "Idempotency-Key": "folder-1"}
    first = client.post("/api/v1/folders", json=body, headers=headers)
    assert first.status_code == 201
    retry = client.post("/api/v1/folders", json=body, headers=headers)
    assert (retry.status_code, retry.json()) == (201, first.json())
    file_id = client.put(URL, content=b"x", headers=alice.headers).json()["id"]
    copy_body = {"parent_id": first.json()["id"], "name": "copy.bin"}
    copy_headers = {**alice.headers, "Idempotency-Key": "copy-1"}
    copies = [
        client.post(f"/api/v1/files/{file_id}/copy", json=copy_body, headers=copy_headers) for _ in range(2)
    ]
    assert [c.status_code for c in copies] == [201, 201]
    assert copies[0].json() == copies[1].json()
    inside = client.get(f"/api/v1/folders/{first.json()['id']}/items", headers=alice.headers).json()["items"]
    assert [i["name"] for i in inside] == ["copy.bin"]
    roots = client.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"]
    assert sorted(i["name"] for i in roots) == ["Case 42", "exhibit.bin"]


def test_bad_keys_are_400(client: TestClient, alice: UserFixture) -> None:
    for bad in ["", "with space", "x" * 256, "naïve"]:
        got = client.put(
            URL,
            content=b"x",
            headers=[
                (b"Authorization", f"Bearer {alice.token}".encode()),
                (b"Idempotency-Key", bad.encode()),
            ],
        )
        assert got.status_code == 400, bad
        assert got.json()["details"] == {"field": "Idempotency-Key"}


def test_keys_expire_after_their_lifetime(
    client: TestClient, alice: UserFixture, runtime: Runtime, clock: AdjustableClock
) -> None:
    headers = {**alice.headers, "Idempotency-Key": "daily"}
    first = client.put(URL, content=b"v", headers=headers)
    clock.advance(timedelta(hours=runtime.settings.idempotency.key_lifetime_hours) - timedelta(minutes=1))
    assert client.put(URL, content=b"v", headers=headers).headers.get("idempotent-replayed") == "true"
    clock.advance(timedelta(minutes=2))
    later = client.put(URL, content=b"v", headers=headers)
    assert later.status_code == 200
    assert "idempotent-replayed" not in later.headers
    assert versions(client, alice, first.json()["id"]) == [1, 2]
    clock.advance(timedelta(days=2))
    with transaction(runtime.sessions) as session:
        assert keys.purge_expired(session, now=clock.now()) == 1
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_concurrent_retries_with_one_key_leave_one_version(
    live_server: LiveServer, alice: UserFixture
) -> None:
    data = b"z" * (3 * 1024 * 1024)
    headers = {**alice.headers, "Idempotency-Key": "race"}
    answers: list[httpx.Response] = []
    start = threading.Barrier(4)

    def send() -> None:
        with httpx.Client(base_url=live_server.url, timeout=120) as http:
            start.wait()
            answers.append(http.put(URL, content=data, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["version_id"] for a in answers}) == 1
    with httpx.Client(base_url=live_server.url, timeout=120) as http:
        file_id = answers[0].json()["id"]
        listed = http.get(f"/api/v1/files/{file_id}/versions", headers=alice.headers).json()
        assert [v["number"] for v in listed] == [1]
