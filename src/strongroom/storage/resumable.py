"""Resumable sealed blobs: one file hashed and sealed across many requests, processes and restarts.

This is what tus uploads write into. The bytes go straight into the final blob's format (there is
no reassembly copy at the end): the blob store keeps a resumable partial that becomes the blob
when the last byte is sealed.

What the caller persists between requests (content/resumable_uploads.py keeps it in one row, and
commits it in one transaction):

* ``received``: plaintext bytes acknowledged to the client;
* the resumable partial, holding the header and the sealed full segments 0..k-1, where
  ``k = received // segment_size`` (bytes past that are unacknowledged and dropped on resume);
* the *sealed tail*: plaintext ``[k * segment_size, received)``, less than one segment.

Why a separate tail: a segment is authenticated whole and its nonce says whether it is the last,
so a segment can only be sealed once it is full (or the file ends). A request that stops inside a
segment must still leave its bytes durable before the server reports the new offset, so the tail
is sealed on its own (seal_tail: AES-256-GCM under a key derived from the blob's data key, with a
fresh random nonce, bound to the blob and the offset) and stored with ``received`` in the same
database transaction. The two can then never disagree, and no tail blob can be orphaned. The next
request opens the tail and continues filling that segment. (The other option, acknowledging only
whole segments, makes a client that sends chunks smaller than a segment resend them forever.)

Hash state: hashlib objects cannot be serialized. A process keeps copies keyed by ``received`` in
memory (the caller's cache); a process without one, after a restart or on another server,
re-derives the SHA-256 by decrypting the sealed segments and the tail (`ResumableSealer` does this
when no hasher is given).
"""

import functools
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.errors import InputError
from strongroom.storage.blobs import BlobStore, ResumableBlobWriter
from strongroom.storage.keys import WrappedKey
from strongroom.storage.sealed_blobs import SealedBlob, segment_job_done
from strongroom.storage.sealed_stream import (
    HEADER_SIZE,
    CorruptBlob,
    SegmentOpener,
    SegmentSealer,
    parse_header,
    segment_count,
)

TAIL_NONCE_SIZE: Final = 12
_TAIL_INFO: Final = b"strongroom resumable tail v1"


class Hasher(Protocol):
    """The part of hashlib's object this module uses (hashlib's own type is private)."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...
    def copy(self) -> "Hasher": ...


@dataclass(frozen=True)
class ResumeState:
    """Everything needed to continue a resumable sealed blob; `dek` is the unwrapped data key."""

    blob_key: str
    aad_id: bytes
    header: bytes
    dek: bytes
    wrapped_dek: WrappedKey
    total_size: int
    received: int
    sealed_tail: bytes | None


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads that seal and store full segments; made on first use, not import."""
    return ThreadPoolExecutor(thread_name_prefix="strongroom-resumable-seal")


def _tail_aead(dek: bytes) -> AESGCM:
    # A key of its own for tails: tail nonces are random, segment nonces are counters, and the
    # two must never meet under one key.
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_TAIL_INFO).derive(dek))


def _tail_aad(state_aad: bytes, blob_key: str, received: int) -> bytes:
    return state_aad + b"|" + blob_key.encode("ascii") + b"|" + received.to_bytes(8, "big")


def seal_tail(*, dek: bytes, aad_id: bytes, blob_key: str, received: int, plaintext: bytes) -> bytes:
    """Seal the bytes after the last full segment: nonce || ciphertext || tag."""
    nonce = os.urandom(TAIL_NONCE_SIZE)
    return nonce + _tail_aead(dek).encrypt(nonce, plaintext, _tail_aad(aad_id, blob_key, received))


def open_tail(*, dek: bytes, aad_id: bytes, blob_key: str, received: int, sealed: bytes) -> bytes:
    """The tail's plaintext. Raises CorruptBlob if it was changed or belongs to another offset or blob."""
    nonce, body = sealed[:TAIL_NONCE_SIZE], sealed[TAIL_NONCE_SIZE:]
    try:
        return _tail_aead(dek).decrypt(nonce, body, _tail_aad(aad_id, blob_key, received))
    except InvalidTag:
        raise CorruptBlob("The stored tail of a resumable upload failed authentication.") from None


def new_hasher() -> Hasher:
    return hashlib.sha256()


class ResumableSealer:
    """Continues a resumable sealed blob at `state.received`. Not thread-safe: one caller thread.

    The caller SHALL end it with checkpoint() (keep going later), finish() (the last byte is
    in) or close() (drop what this session wrote). As in SealedBlobWriter, a pool thread seals
    and stores segment i while the caller's thread hashes segment i+1.
    """

    def __init__(self, *, store: BlobStore, state: ResumeState, hasher: Hasher | None = None) -> None:
        header = parse_header(state.header)
        seg = header.segment_size
        self._state = state
        self._seg = seg
        self._last_index = segment_count(plaintext_size=state.total_size, segment_size=seg) - 1
        self._index = state.received // seg
        self._received = state.received
        self._sealer = SegmentSealer(dek=state.dek, header=header, aad_id=state.aad_id)
        self._overhead = header.segment_overhead
        kept = 0 if state.received == 0 else HEADER_SIZE + self._index * (seg + self._overhead)
        self._blob: ResumableBlobWriter | None = store.resume(state.blob_key, size=kept)
        try:
            tail = b""
            if state.sealed_tail is not None:
                tail = open_tail(
                    dek=state.dek,
                    aad_id=state.aad_id,
                    blob_key=state.blob_key,
                    received=state.received,
                    sealed=state.sealed_tail,
                )
            if len(tail) != state.received - self._index * seg:
                raise CorruptBlob("The stored tail does not match the upload's offset.")  # noqa: TRY301 - close() below must run
            if kept == 0:
                self._blob.write(state.header)
            self._hash = hasher.copy() if hasher is not None else self._rehash(tail)
        except BaseException:
            self.close()
            raise
        self._plain = (memoryview(bytearray(seg)), memoryview(bytearray(seg)))
        self._current = 0
        self._plain[0][: len(tail)] = tail
        self._fill = len(tail)
        self._hashed = len(tail)  # the resumed hash state already covers the tail
        self._also: Hasher | None = None
        self._sealed = memoryview(bytearray(seg + self._overhead))
        self._pending: Future[None] | None = None

    def _rehash(self, tail: bytes) -> Hasher:
        """Re-derive the SHA-256 of the acknowledged bytes by decrypting what is stored."""
        blob = self._require_open()
        if self._index and blob.read(offset=0, length=HEADER_SIZE) != self._state.header:
            raise CorruptBlob("The resumable blob's header is not the one recorded for it.")
        opener = SegmentOpener(
            dek=self._state.dek, header=parse_header(self._state.header), aad_id=self._state.aad_id
        )
        digest = new_hasher()
        span = self._seg + self._overhead
        for index in range(self._index):
            sealed = blob.read(offset=HEADER_SIZE + index * span, length=span)
            if len(sealed) != span:
                raise CorruptBlob(f"The resumable blob ends inside segment {index}.", segment=index)
            digest.update(opener.open(index, sealed, last=False))
        digest.update(tail)
        return digest

    @property
    def received(self) -> int:
        """Plaintext bytes taken so far (acknowledged or not)."""
        return self._received

    def also_hash(self, hasher: Hasher) -> None:
        """Feed every byte taken from now on to `hasher` too (a tus chunk's Upload-Checksum).

        Like the SHA-256, it is complete only after drain(), checkpoint() or finish().
        """
        self._also = hasher

    def hash_state(self) -> Hasher:
        """A copy of the SHA-256 state over everything taken so far (for the caller's cache)."""
        self.drain()
        return self._hash.copy()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hash and seal `data`. Raises InputError if it goes past the blob's declared size.

        Blocks while the previous segment's job runs; in the event loop use write_async().
        """
        view = self._accept(data)
        while view:
            view = view[self._take(view) :]
            if self._sealable():
                self._wait_pending()
                self._hand_off()

    async def write_async(self, data: bytes | bytearray | memoryview) -> None:
        """write() for the event loop: the loop only copies `data` into the segment buffer (one
        copy) and awaits the previous segment's job instead of blocking while it runs; the job
        hashes, seals and stores the segment (one thread hop per segment, as SealedBlobWriter).

        On failure the error is raised and the caller SHALL close().
        """
        view = self._accept(data)
        while view:
            view = view[self._take(view) :]
            if self._sealable():
                pending, self._pending = self._pending, None
                if pending is not None:
                    await segment_job_done(pending)
                self._hand_off()

    def drain(self) -> None:
        """Wait for the segment job and hash what is buffered: the hashes then cover every byte taken."""
        self._wait_pending()
        rest = self._plain[self._current][self._hashed : self._fill]
        self._update_hashes(rest)
        self._hashed = self._fill

    def _accept(self, data: bytes | bytearray | memoryview) -> memoryview:
        self._require_open()
        view = memoryview(data).cast("B")
        if self._received + len(view) > self._state.total_size:
            raise InputError(
                f"The upload is {self._state.total_size} bytes; this data goes past its end.",
                size=self._state.total_size,
            )
        self._received += len(view)
        return view

    def _take(self, view: memoryview) -> int:
        """Copy the start of `view` into the segment being filled; return how many bytes it took."""
        n = min(self._seg - self._fill, len(view))
        self._plain[self._current][self._fill : self._fill + n] = view[:n]
        self._fill += n
        return n

    def _sealable(self) -> bool:
        # The total is known, so a full segment that is not the last is sealed at once.
        return self._fill == self._seg and self._index < self._last_index

    def _update_hashes(self, data: memoryview) -> None:
        if data:
            self._hash.update(data)
            if self._also is not None:
                self._also.update(data)

    def _hand_off(self) -> None:
        """Give the full segment to a pool thread; the previous job SHALL be done (one in flight
        keeps the hashes in order and frees the other buffer and the sealed one)."""
        blob = self._require_open()
        plaintext = self._plain[self._current]
        self._pending = _pool().submit(self._seal_and_store, blob, self._index, plaintext, self._hashed)
        self._index += 1
        self._current ^= 1
        self._fill = 0
        self._hashed = 0

    def _seal_and_store(
        self, blob: ResumableBlobWriter, index: int, plaintext: memoryview, hashed: int = 0
    ) -> None:
        # hashlib, AESGCM and os.write release the GIL: the event loop keeps receiving meanwhile.
        self._update_hashes(plaintext[hashed:])
        n = self._sealer.seal_into(index, plaintext, last=index == self._last_index, out=self._sealed)
        blob.write(self._sealed[:n])

    def _wait_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def checkpoint(self) -> bytes | None:
        """Make everything taken durable and return the sealed tail to store with `received`.

        Ends this session (the blob is closed); a later one starts from the new state.
        """
        try:
            self.drain()
            blob = self._require_open()
            blob.sync()
        finally:
            self.close()
        if self._fill == 0:
            return None
        return seal_tail(
            dek=self._state.dek,
            aad_id=self._state.aad_id,
            blob_key=self._state.blob_key,
            received=self._received,
            plaintext=bytes(self._plain[self._current][: self._fill]),
        )

    def finish(self) -> SealedBlob:
        """Seal the last segment and make the blob durable and visible. Requires every byte taken."""
        if self._received != self._state.total_size:
            raise InputError("The upload is not complete yet.", received=self._received)
        try:
            self._wait_pending()
            blob = self._require_open()
            last = self._plain[self._current][: self._fill]
            self._seal_and_store(blob, self._index, last, self._hashed)
            blob.complete()
        except BaseException:
            self.close()
            raise
        self._blob = None
        return SealedBlob(
            blob_key=self._state.blob_key,
            size=self._received,
            sha256=self._hash.digest(),
            wrapped_dek=self._state.wrapped_dek,
            segment_size=self._seg,
        )

    def close(self) -> None:
        """Stop without acknowledging anything new; the resumable partial stays. Idempotent."""
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is not None:
            wait([pending])  # a seal job may still be writing into the blob
        blob, self._blob = self._blob, None
        if blob is not None:
            blob.close()

    def _require_open(self) -> ResumableBlobWriter:
        if self._blob is None:
            raise RuntimeError("this ResumableSealer is finished or closed")
        return self._blob
