"""Appending a request body to a resumable upload: the streaming half of content/resumable_uploads.py.

See that module for the steps. Here: the per-process SHA-256 cache, tus checksums, and the pump
that moves bytes from the event loop to a hashing and sealing thread a segment at a time (the same
pipelining as content/uploads.receive_stream).
"""

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.clock import Clock
from strongroom.content.resumable_uploads import (
    Lease,
    UploadStatus,
    acknowledge,
    complete,
    get_upload,
    release,
    renew_lease,
    status_of,
    take_lease,
)
from strongroom.db.session import transaction
from strongroom.errors import Gone, InputError, NotFound
from strongroom.jobs.queue import JobQueue
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, wrapped_with_current
from strongroom.storage.resumable import Hasher, ResumableSealer

CHECKSUM_ALGORITHMS: Final = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
LEASE_RENEW_SECONDS: Final = 60.0


class ChecksumMismatch(InputError):
    """The chunk does not match the checksum sent with it; it was discarded."""

    code = "checksum_mismatch"


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


class HashCache:
    """SHA-256 states of recent uploads by (id, received), so the next request need not re-derive them."""

    def __init__(self, *, capacity: int = 4096) -> None:
        self._entries: OrderedDict[str, tuple[int, Hasher]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, upload_id: str, received: int) -> Hasher | None:
        with self._lock:
            entry = self._entries.get(upload_id)
            # An entry for another offset is stale (another process moved on); re-derive instead.
            return entry[1].copy() if entry is not None and entry[0] == received else None

    def put(self, upload_id: str, received: int, hasher: Hasher) -> None:
        with self._lock:
            self._entries[upload_id] = (received, hasher)
            self._entries.move_to_end(upload_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._entries.pop(upload_id, None)


def parse_checksum(value: str | None) -> Checksum | None:
    """An `Upload-Checksum: <algorithm> <base64>` field. Raises InputError for unknown or malformed ones."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InputError(
            f"Unsupported checksum algorithm {algorithm!r}; use one of {', '.join(CHECKSUM_ALGORITHMS)}.",
            field="Upload-Checksum",
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except ValueError as exc:
        raise InputError("The checksum is not valid base64.", field="Upload-Checksum") from exc
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise InputError(f"A {algorithm} checksum is {CHECKSUM_ALGORITHMS[algorithm]().digest_size} bytes.")
    return Checksum(algorithm=algorithm, digest=digest)


@dataclass(frozen=True)
class Services:
    """What appending needs from the runtime."""

    sessions: sessionmaker[Session]
    store: BlobStore
    keys: KeyProvider
    clock: Clock
    hashes: HashCache
    segment_bytes: int
    jobs: JobQueue | None = None


async def append(
    services: Services,
    actor: Actor,
    *,
    upload_id: str,
    offset: int,
    chunks: AsyncIterable[bytes],
    checksum: Checksum | None = None,
) -> UploadStatus:
    """Append a request body at `offset`; see the module docstring for the steps and guarantees.

    Raises OffsetMismatch, UploadBusy, ChecksumMismatch (nothing kept), InputError (past the end),
    NotFound, Gone; and re-raises a failure of `chunks` after keeping what had arrived.
    """
    s = services
    loop = asyncio.get_running_loop()

    def begin() -> Lease:
        with transaction(s.sessions) as session:
            return take_lease(
                session, actor, upload_id=upload_id, offset=offset, keys=s.keys, store=s.store, clock=s.clock
            )

    lease = await loop.run_in_executor(None, begin)
    if lease.completed:
        return await _already_complete(s, actor, lease, chunks)
    try:
        sealer = await loop.run_in_executor(None, _open_sealer, s, lease)
    except BaseException:
        await loop.run_in_executor(None, _release, s, lease)
        raise
    return await _stream(s, actor, lease, sealer=sealer, chunks=chunks, checksum=checksum)


def _open_sealer(s: Services, lease: Lease) -> ResumableSealer:
    try:
        return ResumableSealer(
            store=s.store, state=lease.state, hasher=s.hashes.get(lease.upload_id, lease.state.received)
        )
    except NotFound as exc:
        raise Gone("The stored part of this upload is gone; start a new upload.") from exc


def _release(s: Services, lease: Lease) -> None:
    with transaction(s.sessions) as session:
        release(session, lease)


async def _already_complete(
    s: Services, actor: Actor, lease: Lease, chunks: AsyncIterable[bytes]
) -> UploadStatus:
    async for chunk in chunks:
        if chunk:
            raise InputError("This upload is already complete.", size=lease.state.total_size)
    with transaction(s.sessions) as session:
        return status_of(get_upload(session, actor, lease.upload_id, clock=s.clock))


async def _stream(
    s: Services,
    actor: Actor,
    lease: Lease,
    *,
    sealer: ResumableSealer,
    chunks: AsyncIterable[bytes],
    checksum: Checksum | None,
) -> UploadStatus:
    loop = asyncio.get_running_loop()
    check = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
    if check is not None:
        sealer.also_hash(check)
    renewed = time.monotonic()

    async def keep_lease() -> None:
        # Renew before writing: a request that stalled past its lease must not write over the
        # request that took the upload over.
        nonlocal renewed
        if time.monotonic() - renewed >= LEASE_RENEW_SECONDS:
            await loop.run_in_executor(None, _renew, s, lease)
            renewed = time.monotonic()

    interrupted: Exception | None = None
    try:
        interrupted = await _receive(chunks, sealer, keep_lease)
        if check is not None:
            await loop.run_in_executor(None, sealer.drain)  # the checksum covers the whole chunk
        _verify_chunk(checksum, check, interrupted)
        if sealer.received == lease.state.total_size:
            status = await loop.run_in_executor(None, _finish, s, actor, lease, sealer)
        else:
            status = await loop.run_in_executor(None, _checkpoint, s, lease, sealer)
    except BaseException:
        sealer.close()
        await asyncio.shield(loop.run_in_executor(None, _release, s, lease))
        raise
    if interrupted is not None:
        raise interrupted
    return status


def _verify_chunk(
    checksum: Checksum | None, check: "hashlib._Hash | None", interrupted: Exception | None
) -> None:
    if checksum is None or check is None:
        return
    # A checksum covers the whole chunk: a cut-off chunk cannot be checked, so it is dropped too.
    if interrupted is not None:
        raise interrupted
    if not hmac.compare_digest(check.digest(), checksum.digest):
        raise ChecksumMismatch("The chunk does not match its Upload-Checksum; it was discarded.")


def _renew(s: Services, lease: Lease) -> None:
    with transaction(s.sessions) as session:
        renew_lease(session, lease, clock=s.clock)


def _checkpoint(s: Services, lease: Lease, sealer: ResumableSealer) -> UploadStatus:
    hasher = sealer.hash_state()
    tail = sealer.checkpoint()
    with transaction(s.sessions) as session:
        upload = acknowledge(session, lease, received=sealer.received, sealed_tail=tail, clock=s.clock)
        status = status_of(upload)
    s.hashes.put(lease.upload_id, sealer.received, hasher)
    return status


def _finish(s: Services, actor: Actor, lease: Lease, sealer: ResumableSealer) -> UploadStatus:
    sealed = sealer.finish()
    # The lease took the wrapped key before streaming; record it under the KEK that is current now.
    rewrapped = wrapped_with_current(
        s.keys, sealed.wrapped_dek, dek=lease.state.dek, context=sealed.blob_key.encode("ascii")
    )
    sealed = dataclasses.replace(sealed, wrapped_dek=rewrapped)
    try:
        with transaction(s.sessions) as session:
            done = complete(
                session, actor, lease, sealed=sealed, clock=s.clock, store=s.store, keys=s.keys, jobs=s.jobs
            )
            status = status_of(done)
    except BaseException:
        # No version points at the blob; without this it would wait for the orphan collector.
        s.store.delete(sealed.blob_key)
        raise
    s.hashes.drop(lease.upload_id)
    return status


async def _receive(
    chunks: AsyncIterable[bytes], sealer: ResumableSealer, before_write: Callable[[], Awaitable[None]]
) -> Exception | None:
    """Feed `chunks` to the sealer: the event loop copies each chunk into a segment buffer while a
    pool thread hashes, seals and stores the previous segment (one copy, one hop per segment).

    Returns the exception that ended `chunks` early (the client went away), after taking every
    byte that did arrive; None when the body was complete. Errors of the sealer propagate.
    """
    source = aiter(chunks)
    while True:
        try:
            chunk = await anext(source)
        except StopAsyncIteration:
            return None
        except Exception as exc:  # whatever the door's "client went away" is; re-raised later
            return exc
        await before_write()
        await sealer.write_async(chunk)
