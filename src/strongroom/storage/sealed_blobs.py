"""Sealed blobs: hash and seal a file version into a blob in one pass; read any range back.

This is the upload and download hot path. It reuses one plaintext and one ciphertext buffer per
writer (PERFORMANCE.md: a fresh segment-sized allocation per segment costs throughput), never
holds more than one segment, and reads only the segments a range needs.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from strongroom.errors import RangeNotSatisfiable
from strongroom.storage.blobs import BlobStore, BlobWriter, new_blob_key
from strongroom.storage.keys import KeyProvider, WrappedKey, new_data_key
from strongroom.storage.sealed_stream import (
    HEADER_SIZE,
    TAG_SIZE,
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


class SealedBlobWriter:
    """Hashes plaintext (SHA-256) and seals it into a new blob in one pass.

    Not thread-safe: one caller thread at a time (the caller may hand successive write() calls
    to a worker thread, never concurrently). The caller SHALL end it with finish() or abort();
    until finish() returns, the blob is not visible in the store.
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
        self._sealer = SegmentSealer(dek=dek, header=parse_header(header_raw), aad_id=aad_id)
        self._hash = hashlib.sha256()
        self._plain = bytearray(segment_size)
        self._plain_view = memoryview(self._plain)
        self._sealed = bytearray(segment_size + TAG_SIZE)
        self._sealed_view = memoryview(self._sealed)
        self._fill = 0  # bytes of the current segment held in self._plain
        self._index = 0  # index of the segment being filled
        self._size = 0
        self._writer: BlobWriter | None = store.create(self._blob_key)
        try:
            self._writer.write(header_raw)
        except BaseException:
            self._writer.abort()
            raise

    @property
    def blob_key(self) -> str:
        return self._blob_key

    @property
    def size(self) -> int:
        """Plaintext bytes written so far."""
        return self._size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hash and buffer `data` (any size), sealing and storing each segment once it is full.

        A full segment is sealed only when more data arrives, because whether it is the last
        segment (its nonce's flag) is known only then. Keeps no reference to `data`.
        """
        writer = self._require_open()
        view = memoryview(data).cast("B")
        if not view:
            return
        self._hash.update(view)
        self._size += len(view)
        seg = self._segment_size
        while view:
            if self._fill == seg:
                self._store_segment(writer, self._plain_view)
                self._fill = 0
            if self._fill == 0 and len(view) > seg:
                # A whole segment with more behind it: seal straight from the caller's buffer.
                self._store_segment(writer, view[:seg])
                view = view[seg:]
                continue
            n = min(seg - self._fill, len(view))
            self._plain_view[self._fill : self._fill + n] = view[:n]
            self._fill += n
            view = view[n:]

    def _store_segment(self, writer: BlobWriter, plaintext: memoryview) -> None:
        n = self._sealer.seal_into(self._index, plaintext, last=False, out=self._sealed_view)
        writer.write(self._sealed_view[:n])
        self._index += 1

    def finish(self) -> SealedBlob:
        """Seal the last segment and make the blob durable; return what content/ must record.

        After this the writer takes nothing more. On failure the blob is aborted.
        """
        writer = self._require_open()
        try:
            n = self._sealer.seal_into(
                self._index, self._plain_view[: self._fill], last=True, out=self._sealed_view
            )
            writer.write(self._sealed_view[:n])
            writer.complete()
        except BaseException:
            self.abort()
            raise
        self._writer = None
        return SealedBlob(
            blob_key=self._blob_key,
            size=self._size,
            sha256=self._hash.digest(),
            wrapped_dek=self._wrapped,
            segment_size=self._segment_size,
        )

    def abort(self) -> None:
        """Give the upload up and remove what was stored. Idempotent; does nothing after finish()."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()

    def _require_open(self) -> BlobWriter:
        if self._writer is None:
            raise RuntimeError("this SealedBlobWriter is finished or aborted")
        return self._writer


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
) -> Iterator[bytes]:
    """Decrypted chunks covering exactly plaintext bytes [start, end_inclusive] (default: to the end).

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
    opener, segment_size = _open_blob(
        store=store, keys=keys, blob_key=blob_key, wrapped_dek=wrapped_dek, aad_id=aad_id
    )
    if empty_whole:
        indexes = range(1)
    else:
        indexes = segments_for_range(start=start, end_inclusive=end, segment_size=segment_size)
    return _segments(
        store=store,
        blob_key=blob_key,
        opener=opener,
        plaintext_size=plaintext_size,
        segment_size=segment_size,
        indexes=indexes,
        start=start,
        end=end,
    )


def _open_blob(
    *, store: BlobStore, keys: KeyProvider, blob_key: str, wrapped_dek: WrappedKey, aad_id: bytes
) -> tuple[SegmentOpener, int]:
    header = parse_header(store.read(blob_key, offset=0, length=HEADER_SIZE))
    dek = keys.unwrap_data_key(wrapped_dek, context=blob_key.encode("ascii"))
    return SegmentOpener(dek=dek, header=header, aad_id=aad_id), header.segment_size


def _segments(
    *,
    store: BlobStore,
    blob_key: str,
    opener: SegmentOpener,
    plaintext_size: int,
    segment_size: int,
    indexes: range,
    start: int,
    end: int,
) -> Iterator[bytes]:
    last_index = segment_count(plaintext_size=plaintext_size, segment_size=segment_size) - 1
    for index in indexes:
        offset, length = ciphertext_span(index=index, plaintext_size=plaintext_size, segment_size=segment_size)
        sealed = store.read(blob_key, offset=offset, length=length)
        if len(sealed) != length:
            raise CorruptBlob(
                f"The blob ends inside segment {index}: it is shorter than its recorded size.", segment=index
            )
        plain = opener.open(index, sealed, last=index == last_index)
        del sealed  # drop the ciphertext before the consumer gets the plaintext: one segment held
        seg_start = index * segment_size
        lo = max(start - seg_start, 0)
        hi = min(end - seg_start + 1, len(plain))
        if hi <= lo:
            continue  # the empty last segment of an empty file: authenticated, nothing to yield
        yield plain if lo == 0 and hi == len(plain) else plain[lo:hi]


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
    opener, segment_size = _open_blob(
        store=store, keys=keys, blob_key=blob_key, wrapped_dek=wrapped_dek, aad_id=aad_id
    )
    expected = sealed_size(plaintext_size=plaintext_size, segment_size=segment_size)
    actual = store.size(blob_key)
    if actual != expected:
        raise CorruptBlob(
            f"The blob is {actual} bytes; a {plaintext_size}-byte file sealed in {segment_size}-byte "
            f"segments is {expected}.",
        )
    digest = hashlib.sha256()
    count = segment_count(plaintext_size=plaintext_size, segment_size=segment_size)
    for chunk in _segments(
        store=store,
        blob_key=blob_key,
        opener=opener,
        plaintext_size=plaintext_size,
        segment_size=segment_size,
        indexes=range(count),
        start=0,
        end=max(plaintext_size - 1, 0),
    ):
        digest.update(chunk)
    return digest.digest()
