"""A key rotation in the server's own process while an upload is still streaming, on the plain PUT and
the tus doors: the old key is retired at once, and the file must still be readable."""

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from strongroom.content import maintenance, scrub
from strongroom.content.models import TusUpload
from strongroom.runtime import Runtime
from tests.api.test_tus import OFFSET_TYPE, TUS, create
from tests.support.live import LiveServer
from tests.support.users import UserFixture


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        yield client


def _across_a_rotation(
    runtime: Runtime, data: bytes, send: Callable[[Iterator[bytes]], None], *, started: Callable[[], bool]
) -> None:
    """Run `send` with a body that pauses half-way while the keys rotate and the old key is retired;
    `started` says when the server holds the upload's wrapped data key."""
    half_sent, rotated = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        half_sent.set()
        assert rotated.wait(60)
        yield data[len(data) // 2 :]

    sender = threading.Thread(target=send, args=(body(),))
    sender.start()
    try:
        assert half_sent.wait(60)
        deadline = time.monotonic() + 60
        while not started() and time.monotonic() < deadline:
            time.sleep(0.01)
        old = runtime.keys.current_kek_id()
        done = maintenance.rotate_keys(
            runtime.sessions, runtime.keys, clock=runtime.clock, grace=timedelta(0)
        )
        assert done.retired == [old]
    finally:
        rotated.set()
        sender.join(60)


def _readable(http: httpx.Client, alice: UserFixture, runtime: Runtime, file_id: str, data: bytes) -> None:
    response = http.get(f"/api/v1/files/{file_id}/content", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(data).digest()
    assert scrub.verify_all(runtime.sessions, runtime.blobs, runtime.keys, clock=runtime.clock).failures == []


def test_a_put_streaming_across_a_rotation_is_kept(
    http: httpx.Client, runtime: Runtime, alice: UserFixture
) -> None:
    data = os.urandom(300_000)
    answers: list[httpx.Response] = []

    def send(body: Iterator[bytes]) -> None:
        answers.append(http.put("/api/v1/folders/root/files/cctv.mp4", content=body, headers=alice.headers))

    partials = runtime.settings.blob_path / ".partial"  # made just after the data key is wrapped
    _across_a_rotation(runtime, data, send, started=lambda: partials.exists() and any(partials.iterdir()))
    assert answers[0].status_code == 201, answers[0].text
    _readable(http, alice, runtime, answers[0].json()["id"], data)


def test_a_tus_patch_streaming_across_a_rotation_is_kept(
    http: httpx.Client, runtime: Runtime, alice: UserFixture
) -> None:
    data = os.urandom(300_000)
    url = create(http, alice, len(data))
    answers: list[httpx.Response] = []

    def send(body: Iterator[bytes]) -> None:
        headers = {**alice.headers, **TUS, **OFFSET_TYPE, "Upload-Offset": "0"}
        answers.append(http.patch(url, content=body, headers=headers))

    def leased() -> bool:  # the PATCH took the wrapped data key with its lease
        with runtime.sessions() as session:
            return session.scalar(select(TusUpload.lease_token)) is not None

    _across_a_rotation(runtime, data, send, started=leased)
    assert answers[0].status_code == 204, answers[0].text
    info = http.get(answers[0].headers["Location"], headers=alice.headers).json()
    _readable(http, alice, runtime, info["id"], data)
