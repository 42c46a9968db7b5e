"""Sealed blobs: hash and seal a file version into a blob in one pass; read any range back.

This is the upload and download hot path. It reuses one plaintext and one ciphertext buffer per
writer (PERFORMANCE.md: a fresh segment-sized allocation per segment costs throughput), never
holds more than one segment, and reads only the segments a range needs.
"""

import asyncio
import functools
import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from strongroom.errors import RangeNotSatisfiable
from strongroom.storage.blobs import BlobStore, BlobWriter, new_blob_key
from strongroom.storage.buffer_ring import BufferRing, SealedSource
from strongroom.storage.keys import KeyProvider, WrappedKey, new_data_key, wrapped_with_current
from strongroom.storage.sealed_stream import (
    HEADER_SIZE,
    TAG_SIZE,
    BlobHeader,
    CorruptBlob,
    SegmentOpener,
    SegmentSealer,
    ciphertext_span,
    new_header,
    parse_header,
    sealed_size,
    segment_count,
    segments_for_range,
)

DEFAULT_SEGMENT_SIZE = 1 << 20


@dataclass(frozen=True)
class SealedBlob:
    blob_key: str
    size: int  # plaintext bytes
    sha256: bytes  # 32 raw bytes: the evidential hash of the plaintext
    wrapped_dek: WrappedKey
    segment_size: int


@functools.cache
def _sealing_pool() -> ThreadPoolExecutor:
    """Threads that seal and store full segments, shared by all writers; made on first use, not import."""
    return ThreadPoolExecutor(thread_name_prefix="strongroom-seal")


async def segment_job_done(job: Future[None]) -> None:
    """Await an upload's segment job in the event loop; its failure is raised here."""
    if job.done():
        # Usual case: the job ended while the loop filled the next segment. Taking its result here
        # spares a thread-safe wake-up of the loop per segment.
        job.result()
    else:
        # Shielded: a cancelled request must not cancel a job that abort() or close() waits for.
        await asyncio.shield(asyncio.wrap_future(job))


class SealedBlobWriter:
    """Hashes plaintext (SHA-256) and seals it into a new blob in one pass.

    Not thread-safe: one caller at a time (write() from one thread, or write_async() from the
    event loop). The caller SHALL end it with finish() or abort(); until finish() returns, the
    blob is not visible in the store.

    While the caller copies segment i+1 into one buffer, one pool thread hashes, seals and
    stores segment i (hashlib, AESGCM and os.write all release the GIL). Two plaintext buffers
    take turns and one job at a time is in flight, so the SHA-256 sees the segments in order.
    The event loop thus spends one copy per received byte and one thread hop per segment.
    """

    def __init__(
        self,
        *,
        store: BlobStore,
        keys: KeyProvider,
        aad_id: bytes,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        blob_key: str | None = None,
    ) -> None:
        self._blob_key = blob_key if blob_key is not None else new_blob_key()
        self._segment_size = segment_size
        header_raw = new_header(segment_size=segment_size)
        dek = new_data_key()
        # Wrap first: if the key provider is down, fail before any upload bytes are accepted.
        self._wrapped = keys.wrap_data_key(dek, context=self._blob_key.encode("ascii"))
        self._keys, self._dek = keys, dek  # to re-wrap at finish() if a rotation happened meanwhile
        self._sealer = SegmentSealer(dek=dek, header=parse_header(header_raw), aad_id=aad_id)
        self._hash = hashlib.sha256()
        self._plain = (memoryview(bytearray(segment_size)), memoryview(bytearray(segment_size)))
        self._current = 0  # which of self._plain is being filled
        self._sealed = memoryview(bytearray(segment_size + TAG_SIZE))  # used by one seal job at a time
        self._pending: Future[None] | None = None
        self._fill = 0  # bytes of the current segment held in its buffer
        self._index = 0  # index of the segment being filled
        self._size = 0
        self._writer: BlobWriter | None = store.create(self._blob_key)
        try:
            self._writer.write(header_raw)
        except BaseException:
            self.abort()
            raise

    @property
    def blob_key(self) -> str:
        return self._blob_key

    @property
    def size(self) -> int:
        """Plaintext bytes written so far."""
        return self._size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer `data` (any size); each full segment is hashed, sealed and stored by a pool thread.

        A full segment is handed off only when more data arrives, because whether it is the last
        segment (its nonce's flag) is known only then. Keeps no reference to `data`. On a
        storage failure the blob is aborted and the error raised. Blocks while the previous
        segment's job runs; in the event loop use write_async().
        """
        self._require_open()
        view = memoryview(data).cast("B")
        self._size += len(view)
        while view:
            if self._fill == self._segment_size:
                self._wait_pending()
                self._hand_off_full_segment()
            view = view[self._take(view) :]

    async def write_async(self, data: bytes | bytearray | memoryview) -> None:
        """write() for the event loop: the loop only copies `data` into the segment buffer (one copy),
        and awaits the previous segment's job instead of blocking while it runs.

        On failure the error is raised and the caller SHALL abort() (settle() first).
        """
        self._require_open()
        view = memoryview(data).cast("B")
        self._size += len(view)
        while view:
            if self._fill == self._segment_size:
                pending = self._pending
                if pending is not None:
                    await segment_job_done(pending)
                    self._pending = None
                self._hand_off_full_segment()
            view = view[self._take(view) :]

    async def settle(self) -> None:
        """Wait, without raising, until no segment job runs (before abort() in the event loop)."""
        pending = self._pending
        if pending is not None:
            await asyncio.gather(asyncio.wrap_future(pending), return_exceptions=True)

    def _take(self, view: memoryview) -> int:
        """Copy the start of `view` into the segment being filled; return how many bytes it took."""
        n = min(self._segment_size - self._fill, len(view))
        self._plain[self._current][self._fill : self._fill + n] = view[:n]
        self._fill += n
        return n

    def _hand_off_full_segment(self) -> None:
        """Give the full segment to a pool thread. The previous job SHALL be done: one job in
        flight per writer keeps SHA-256 in order and frees the other buffer and the sealed one."""
        writer = self._require_open()
        plaintext = self._plain[self._current]
        self._pending = _sealing_pool().submit(
            self._hash_seal_and_store, writer, self._index, plaintext, last=False
        )
        self._index += 1
        self._current ^= 1
        self._fill = 0

    def _hash_seal_and_store(
        self, writer: BlobWriter, index: int, plaintext: memoryview, *, last: bool
    ) -> None:
        # hashlib, AESGCM and os.write release the GIL: the event loop keeps receiving meanwhile.
        self._hash.update(plaintext)
        n = self._sealer.seal_into(index, plaintext, last=last, out=self._sealed)
        writer.write(self._sealed[:n])

    def _wait_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except BaseException:
            self.abort()
            raise

    def finish(self) -> SealedBlob:
        """Seal the last segment and make the blob durable; return what content/ must record.

        After this the writer takes nothing more. On failure the blob is aborted.
        """
        self._wait_pending()
        writer = self._require_open()
        try:
            self._hash_seal_and_store(
                writer, self._index, self._plain[self._current][: self._fill], last=True
            )
            writer.complete()
        except BaseException:
            self.abort()
            raise
        self._writer = None
        context = self._blob_key.encode("ascii")
        return SealedBlob(
            blob_key=self._blob_key,
            size=self._size,
            sha256=self._hash.digest(),
            wrapped_dek=wrapped_with_current(self._keys, self._wrapped, dek=self._dek, context=context),
            segment_size=self._segment_size,
        )

    def abort(self) -> None:
        """Give the upload up and remove what was stored. Idempotent; does nothing after finish()."""
        pending, self._pending = self._pending, None
        if pending is not None:
            # The seal job may still be writing; let it end before the partial data is removed.
            wait([pending])
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()

    def _require_open(self) -> BlobWriter:
        if self._writer is None:
            raise RuntimeError("this SealedBlobWriter is finished or aborted")
        return self._writer


# Segments read from the store in one call when streaming; bounds the ciphertext held in memory.
READ_AHEAD_SEGMENTS = 4


def read_plaintext(
    *,
    store: BlobStore,
    keys: KeyProvider,
    blob_key: str,
    wrapped_dek: WrappedKey,
    aad_id: bytes,
    plaintext_size: int,
    start: int = 0,
    end_inclusive: int | None = None,
) -> Iterator[memoryview]:
    """Decrypted chunks covering exactly plaintext bytes [start, end_inclusive] (default: to the end).

    Each chunk is a view into a buffer holding up to READ_AHEAD_SEGMENTS segments' plaintext. A
    consumer may keep it (a connection may still hold it after the next chunk is read): a buffer is
    reused only once no view into it is left.

    Checks the range, unwraps the key and reads the header before returning, so that
    RangeNotSatisfiable, NotFound, KeyUnavailable and a bad header surface before a response
    starts. Iterating reads one segment at a time (only those the range needs) and raises
    CorruptBlob if one fails authentication. An empty file yields nothing, but its one empty
    segment is still authenticated.
    """
    last_byte = plaintext_size - 1
    end = last_byte if end_inclusive is None else end_inclusive
    empty_whole = plaintext_size == 0 and start == 0 and end_inclusive is None
    if not empty_whole and not 0 <= start <= end <= last_byte:
        raise RangeNotSatisfiable(
            f"The range {start}-{end} is outside the file's {plaintext_size} bytes.", size=plaintext_size
        )
    opener, header = _open_blob(
        store=store, keys=keys, blob_key=blob_key, wrapped_dek=wrapped_dek, aad_id=aad_id
    )
    segment_size = header.segment_size
    if empty_whole:
        indexes = range(1)
    else:
        indexes = segments_for_range(start=start, end_inclusive=end, segment_size=segment_size)
    return _segments(
        source=SealedSource(store, blob_key, batches=-(-len(indexes) // READ_AHEAD_SEGMENTS)),
        opener=opener,
        plaintext_size=plaintext_size,
        segment_size=segment_size,
        overhead=header.segment_overhead,
        indexes=indexes,
        start=start,
        end=end,
    )


def _open_blob(
    *, store: BlobStore, keys: KeyProvider, blob_key: str, wrapped_dek: WrappedKey, aad_id: bytes
) -> tuple[SegmentOpener, BlobHeader]:
    header = parse_header(store.read(blob_key, offset=0, length=HEADER_SIZE))
    dek = keys.unwrap_data_key(wrapped_dek, context=blob_key.encode("ascii"))
    return SegmentOpener(dek=dek, header=header, aad_id=aad_id), header


def _segments(
    *,
    source: SealedSource,
    opener: SegmentOpener,
    plaintext_size: int,
    segment_size: int,
    overhead: int,
    indexes: range,
    start: int,
    end: int,
) -> Iterator[memoryview]:
    last_index = segment_count(plaintext_size=plaintext_size, segment_size=segment_size) - 1

    def span(index: int) -> tuple[int, int]:
        return ciphertext_span(
            index=index, plaintext_size=plaintext_size, segment_size=segment_size, overhead=overhead
        )

    # Plaintext buffers are reused once nothing holds a view into them: a fresh zeroed buffer per
    # batch cost page faults and a memset over every byte sent.
    in_read = min(indexes.stop * segment_size, plaintext_size) - indexes.start * segment_size
    plain_buffers = BufferRing(min(READ_AHEAD_SEGMENTS * segment_size, in_read))
    for batch_start in range(indexes.start, indexes.stop, READ_AHEAD_SEGMENTS):
        batch = range(batch_start, min(batch_start + READ_AHEAD_SEGMENTS, indexes.stop))
        first_offset, _ = span(batch[0])
        last_offset, last_length = span(batch[-1])
        wanted = last_offset + last_length - first_offset
        # A batch that holds the last segment asks for one byte more: anything after the final
        # segment (bytes appended to the blob) is tampering, and costs nothing extra to notice.
        to_read = wanted + (1 if batch[-1] == last_index else 0)
        # Consecutive segments are adjacent in the blob: one read for the batch, not one per segment.
        plain = plain_buffers.take()
        lo = max(start - batch[0] * segment_size, 0)
        opened = 0
        with source.batch(first_offset, to_read) as sealed, memoryview(plain) as out:
            if len(sealed) > wanted:
                raise CorruptBlob(
                    "The blob holds bytes after its final segment: it is longer than its recorded size.",
                    segment=last_index,
                )
            # The batch's plaintext lands in one contiguous buffer: one chunk (one send) per batch.
            try:
                for index in batch:
                    offset, length = span(index)
                    with _whole_segment(index, sealed[offset - first_offset :], length) as piece:
                        opened += opener.open_into(index, piece, last=index == last_index, out=out[opened:])
            except CorruptBlob:
                # The segments before the failing one authenticated: they are sent, as they were
                # when each segment was its own chunk; then the failure ends the read.
                if opened > lo:
                    yield out[lo:opened]
                raise
        hi = min(end - batch[0] * segment_size + 1, opened)
        if hi <= lo:
            continue  # the empty last segment of an empty file: authenticated, nothing to yield
        view = memoryview(plain)[lo:hi]
        del plain
        yield view
        del view  # the ring can reuse the buffer once the consumer has let go of it too


def _whole_segment(index: int, rest: memoryview, length: int) -> memoryview:
    """The `length` sealed bytes of segment `index` at the start of `rest`.

    Raises CorruptBlob if the blob ends first."""
    if len(rest) < length:
        raise CorruptBlob(
            f"The blob ends inside segment {index}: it is shorter than its recorded size.", segment=index
        )
    return rest[:length]


def verify_blob(
    *,
    store: BlobStore,
    keys: KeyProvider,
    blob_key: str,
    wrapped_dek: WrappedKey,
    aad_id: bytes,
    plaintext_size: int,
) -> bytes:
    """Decrypt the whole blob and return the SHA-256 of its plaintext (32 raw bytes).

    Raises CorruptBlob if the blob's size is not what `plaintext_size` implies or any segment
    fails authentication; the caller compares the digest with the recorded one.
    """
    opener, header = _open_blob(
        store=store, keys=keys, blob_key=blob_key, wrapped_dek=wrapped_dek, aad_id=aad_id
    )
    segment_size = header.segment_size
    expected = sealed_size(
        plaintext_size=plaintext_size, segment_size=segment_size, overhead=header.segment_overhead
    )
    actual = store.size(blob_key)
    if actual != expected:
        raise CorruptBlob(
            f"The blob is {actual} bytes; a {plaintext_size}-byte file sealed in {segment_size}-byte "
            f"segments is {expected}.",
        )
    digest = hashlib.sha256()
    count = segment_count(plaintext_size=plaintext_size, segment_size=segment_size)
    for chunk in _segments(
        source=SealedSource(store, blob_key, batches=2),
        opener=opener,
        plaintext_size=plaintext_size,
        segment_size=segment_size,
        overhead=header.segment_overhead,
        indexes=range(count),
        start=0,
        end=max(plaintext_size - 1, 0),
    ):
        digest.update(chunk)
    return digest.digest()
