"""Resumable sealed blobs: any split of the bytes over sessions gives the blob a one-pass writer gives."""

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from strongroom.errors import InputError
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import new_data_key
from strongroom.storage.resumable import ResumableSealer, ResumeState
from strongroom.storage.sealed_blobs import read_plaintext, verify_blob
from strongroom.storage.sealed_stream import (
    FORMAT_COUNTER_NONCES,
    FORMAT_STORED_NONCES,
    HEADER_SIZE,
    NONCE_PREFIX_SIZE,
    CorruptBlob,
    new_header,
)

SEG = 1024


def _start(
    store_keys: tuple[LocalBlobStore, FileKeyProvider], total: int, *, version: int = FORMAT_STORED_NONCES
) -> ResumeState:
    _store, keys = store_keys
    dek = new_data_key()
    key = os.urandom(16).hex()
    return ResumeState(
        blob_key=key,
        aad_id=b"ver_test",
        header=new_header(segment_size=SEG, version=version),
        dek=dek,
        wrapped_dek=keys.wrap_data_key(dek, context=key.encode()),
        total_size=total,
        received=0,
        sealed_tail=None,
    )


@pytest.fixture
def store_keys(tmp_path: Path) -> tuple[LocalBlobStore, FileKeyProvider]:
    return LocalBlobStore(tmp_path / "blobs"), FileKeyProvider.open(tmp_path / "keys.json", create=True)


def _advance(state: ResumeState, sealer: ResumableSealer) -> ResumeState:
    tail = sealer.checkpoint()
    return ResumeState(**{**state.__dict__, "received": sealer.received, "sealed_tail": tail})


@pytest.mark.parametrize("total", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 5 * SEG + 17])
@pytest.mark.parametrize("cuts", [(), (1,), (SEG,), (7, SEG + 3, 2 * SEG), (100, 101, 102)])
# Version 1: uploads started before stored nonces came in still finish and read back.
@pytest.mark.parametrize("version", [FORMAT_STORED_NONCES, FORMAT_COUNTER_NONCES])
def test_sessions_with_or_without_cached_hash_give_the_same_blob(
    store_keys: tuple[LocalBlobStore, FileKeyProvider], total: int, cuts: tuple[int, ...], version: int
) -> None:
    store, keys = store_keys
    data = os.urandom(total)
    state = _start(store_keys, total, version=version)
    bounds = [*sorted({c for c in cuts if c < total}), total]
    start = 0
    cached = None
    for n, end in enumerate(bounds):
        # Every other session has no cached hash: it must re-derive it from the stored bytes.
        sealer = ResumableSealer(store=store, state=state, hasher=cached if n % 2 else None)
        sealer.write(data[start:end])
        if end < total:
            cached = sealer.hash_state()
            state = _advance(state, sealer)
            assert state.received == end
            assert not store.exists(state.blob_key)
        else:
            sealed = sealer.finish()
        start = end
    assert sealed.sha256 == hashlib.sha256(data).digest()
    assert sealed.size == total
    assert (
        verify_blob(
            store=store,
            keys=keys,
            blob_key=sealed.blob_key,
            wrapped_dek=sealed.wrapped_dek,
            aad_id=b"ver_test",
            plaintext_size=total,
        )
        == sealed.sha256
    )
    got = b"".join(
        read_plaintext(
            store=store,
            keys=keys,
            blob_key=sealed.blob_key,
            wrapped_dek=sealed.wrapped_dek,
            aad_id=b"ver_test",
            plaintext_size=total,
        )
    )
    assert got == data


def test_unacknowledged_bytes_are_dropped_on_resume(
    store_keys: tuple[LocalBlobStore, FileKeyProvider],
) -> None:
    store, _ = store_keys
    data = os.urandom(4 * SEG)
    state = _start(store_keys, len(data))
    first = ResumableSealer(store=store, state=state)
    first.write(data[: SEG + 10])
    state = _advance(state, first)
    wasted = ResumableSealer(store=store, state=state)
    wasted.write(os.urandom(2 * SEG))  # e.g. a chunk whose checksum did not match: never acknowledged
    wasted.close()
    again = ResumableSealer(store=store, state=state)
    again.write(data[SEG + 10 :])
    assert again.finish().sha256 == hashlib.sha256(data).digest()


def test_too_many_bytes_and_tampered_tail_are_refused(
    store_keys: tuple[LocalBlobStore, FileKeyProvider],
) -> None:
    store, _ = store_keys
    state = _start(store_keys, 10)
    sealer = ResumableSealer(store=store, state=state)
    with pytest.raises(InputError):
        sealer.write(b"x" * 11)
    sealer.write(b"x" * 5)
    state = _advance(state, sealer)
    assert state.sealed_tail is not None
    bad = bytearray(state.sealed_tail)
    bad[-1] ^= 1
    with pytest.raises(CorruptBlob):
        ResumableSealer(store=store, state=ResumeState(**{**state.__dict__, "sealed_tail": bytes(bad)}))
    with pytest.raises(CorruptBlob):  # a tail moved to another offset does not open
        ResumableSealer(store=store, state=ResumeState(**{**state.__dict__, "received": 4}))


def test_a_segment_sealed_again_after_a_refused_attempt_gets_a_fresh_nonce(
    store_keys: tuple[LocalBlobStore, FileKeyProvider],
) -> None:
    """The same (key, index) sealed twice, as after a refused tus chunk, must not share a nonce:
    otherwise the XOR of the two ciphertexts is the XOR of the two plaintexts."""
    store, _keys = store_keys
    state = _start(store_keys, 3 * SEG)
    partial = store.root / ".resumable" / state.blob_key
    first, second = os.urandom(2 * SEG), os.urandom(2 * SEG)
    sealer = ResumableSealer(store=store, state=state)
    sealer.write(first)  # segment 0 is sealed and stored, then the attempt is dropped
    sealer.close()
    refused = partial.read_bytes()
    sealer = ResumableSealer(store=store, state=state)
    sealer.write(second)
    sealer.close()
    resent = partial.read_bytes()
    start = HEADER_SIZE + NONCE_PREFIX_SIZE
    assert refused[HEADER_SIZE:start] != resent[HEADER_SIZE:start]
    keystream_1 = bytes(a ^ b for a, b in zip(refused[start : start + SEG], first[:SEG], strict=True))
    keystream_2 = bytes(a ^ b for a, b in zip(resent[start : start + SEG], second[:SEG], strict=True))
    assert keystream_1 != keystream_2


@pytest.mark.parametrize("total", [1, SEG, 3 * SEG + 5])
def test_the_event_loop_path_gives_the_same_blob_and_checksums_only_each_sessions_bytes(
    store_keys: tuple[LocalBlobStore, FileKeyProvider], total: int
) -> None:
    # write_async (the tus door's path) in odd-sized pieces across sessions that stop mid-segment;
    # each session's extra hash (a tus chunk's Upload-Checksum) covers that session's bytes only,
    # not the resumed tail already in the segment buffer.
    store, keys = store_keys
    data = os.urandom(total)
    state = _start(store_keys, total)
    bounds = [b for b in (SEG // 2 + 3, 2 * SEG + 1) if b < total] + [total]
    start = 0
    for end in bounds:
        sealer = ResumableSealer(store=store, state=state)
        session_md5 = hashlib.md5()
        sealer.also_hash(session_md5)

        async def feed(piece: bytes, sealer: ResumableSealer = sealer) -> None:
            for at in range(0, len(piece), 333):
                await sealer.write_async(piece[at : at + 333])

        asyncio.run(feed(data[start:end]))
        sealer.drain()
        assert session_md5.digest() == hashlib.md5(data[start:end]).digest()
        if end < total:
            state = _advance(state, sealer)
        else:
            sealed = sealer.finish()
        start = end
    assert sealed.sha256 == hashlib.sha256(data).digest()
    back = b"".join(
        read_plaintext(
            store=store,
            keys=keys,
            blob_key=sealed.blob_key,
            wrapped_dek=sealed.wrapped_dek,
            aad_id=b"ver_test",
            plaintext_size=total,
        )
    )
    assert back == data
