"""A refused tus chunk and the client's re-send are never sealed under one (key, nonce)."""

import base64
import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, update

from strongroom.content.models import TusUpload
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.storage.sealed_stream import (
    FORMAT_COUNTER_NONCES,
    FORMAT_STORED_NONCES,
    HEADER_SIZE,
    NONCE_PREFIX_SIZE,
    new_header,
)
from tests.api.test_tus import SEG, create, patch, resumables
from tests.support.live import LiveServer
from tests.support.users import UserFixture


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def _keystream(sealed: bytes, plaintext: bytes, at: int) -> bytes:
    return bytes(a ^ b for a, b in zip(sealed[at : at + SEG], plaintext[:SEG], strict=True))


def test_a_refused_chunk_and_its_resend_use_different_nonces(
    http: httpx.Client, alice: UserFixture, runtime: Runtime
) -> None:
    refused, resent = os.urandom(2 * SEG), os.urandom(2 * SEG)
    url = create(http, alice, 3 * SEG)

    def sha256(body: bytes) -> str:
        return f"sha256 {base64.b64encode(hashlib.sha256(body).digest()).decode()}"

    # The checksum is of other bytes: the chunk is refused after its segments were sealed and stored.
    bad = patch(http, alice, url, 0, refused, **{"Upload-Checksum": sha256(resent)})
    assert bad.status_code == 460
    (partial,) = resumables(runtime)
    after_refusal = partial.read_bytes()
    good = patch(http, alice, url, 0, resent, **{"Upload-Checksum": sha256(resent)})
    assert good.status_code == 204, good.text
    after_resend = partial.read_bytes()
    # Wherever segment 0's ciphertext starts (format 1: after the header; 2: after its nonce
    # prefix), equal keystreams would mean a reused nonce, leaking refused XOR resent.
    for at in (HEADER_SIZE, HEADER_SIZE + NONCE_PREFIX_SIZE):
        assert _keystream(after_refusal, refused, at) != _keystream(after_resend, resent, at)


def test_an_upload_started_before_format_2_switches_while_nothing_is_acknowledged(
    http: httpx.Client, alice: UserFixture, runtime: Runtime
) -> None:
    data = os.urandom(2 * SEG + 3)
    url = create(http, alice, len(data))
    upload_id = url.rsplit("/", 1)[1]
    with transaction(runtime.sessions) as session:
        session.execute(
            update(TusUpload)
            .where(TusUpload.id == upload_id)
            .values(blob_header=new_header(segment_size=SEG, version=FORMAT_COUNTER_NONCES))
        )
    done = patch(http, alice, url, 0, data)
    assert done.status_code == 204, done.text
    assert http.get(done.headers["Location"] + "/content", headers=alice.headers).content == data
    with transaction(runtime.sessions) as session:
        key = session.scalars(select(TusUpload.blob_key).where(TusUpload.id == upload_id)).one()
    assert runtime.blobs.read(key, offset=0, length=HEADER_SIZE)[4] == FORMAT_STORED_NONCES
