"""Retiring a superseded key-encryption key: only after the grace period, and never while anything
is wrapped with it."""

import os
from datetime import timedelta

from fastapi.testclient import TestClient

from strongroom.content import maintenance, scrub
from strongroom.jobs import tasks
from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def _upload(client: TestClient, alice: UserFixture, name: str, data: bytes) -> str:
    response = client.put(f"/api/v1/folders/root/files/{name}", content=data, headers=alice.headers)
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def test_a_key_is_kept_through_its_grace_period(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    data = os.urandom(100_000)
    file_id = _upload(client, alice, "statement.pdf", data)
    old = runtime.keys.current_kek_id()

    done = maintenance.rotate_keys(runtime.sessions, runtime.keys, clock=runtime.clock)
    assert done.rewrapped == 1
    assert done.retired == []
    assert "grace period" in done.waiting[old]
    assert old in runtime.keys.kek_ids()
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).content == data


def test_a_key_still_wrapping_data_is_rewrapped_before_it_is_retired(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    data = os.urandom(100_000)
    file_id = _upload(client, alice, "interview.wav", data)
    old = runtime.keys.current_kek_id()
    runtime.keys.add_kek()  # as if an upload committed with the old key after the rotation's pass
    assert maintenance.count_wrapped_with(runtime.sessions, old, maintenance.WRAPPED_KEY_HOLDERS) == 1

    done = maintenance.retire_superseded(
        runtime.sessions, runtime.keys, clock=runtime.clock, grace=timedelta(0)
    )
    assert done.rewrapped == 1
    assert done.retired == [old]
    assert old not in runtime.keys.kek_ids()
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).content == data
    report = scrub.verify_all(runtime.sessions, runtime.blobs, runtime.keys, clock=runtime.clock)
    assert report.failures == []


def test_the_worker_retires_superseded_keys_once_their_grace_has_passed(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    data = os.urandom(10_000)
    file_id = _upload(client, alice, "note.txt", data)
    old = runtime.keys.current_kek_id()
    maintenance.rotate_keys(runtime.sessions, runtime.keys, clock=runtime.clock)

    tasks.retire_superseded_keys(runtime)  # the default grace (an hour) has not passed
    assert old in runtime.keys.kek_ids()

    runtime.settings.keys.retire_grace_seconds = 0
    tasks.retire_superseded_keys(runtime)
    assert runtime.keys.kek_ids() == [runtime.keys.current_kek_id()]
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).content == data
