"""SealedBlobWriter, read_plaintext and verify_blob over a real LocalBlobStore and FileKeyProvider."""

import hashlib
import mmap
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.errors import NotFound, RangeNotSatisfiable, Unavailable
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.blobs import BlobWriter
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import KeyUnavailable
from strongroom.storage.sealed_blobs import (
    READ_AHEAD_SEGMENTS,
    SealedBlob,
    SealedBlobWriter,
    read_plaintext,
    verify_blob,
)
from strongroom.storage.sealed_stream import HEADER_SIZE, TAG_SIZE, CorruptBlob, parse_header, sealed_size

SEG = 4096
AAD_ID = b"version-0001"


class CountingStore(LocalBlobStore):
    """A real local store that records every read, to prove range reads touch only what they need.

    With maps=False it cannot map blobs, as a store elsewhere than the local disk: segments then
    come through read_into. With maps=True (the local store as served) they come from the map."""

    def __init__(self, root: Path, *, maps: bool = False) -> None:
        super().__init__(root)
        self.maps = maps
        self.reads: list[tuple[int, int]] = []

    def mapped(self, key: str) -> mmap.mmap | None:
        return super().mapped(key) if self.maps else None

    def read(self, key: str, *, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        return super().read(key, offset=offset, length=length)

    def read_into(self, key: str, *, offset: int, into: bytearray) -> int:
        self.reads.append((offset, len(into)))
        return super().read_into(key, offset=offset, into=into)


@pytest.fixture(params=["reads", "mapped"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> CountingStore:
    return CountingStore(tmp_path / "blobs", maps=request.param == "mapped")


@pytest.fixture
def keys(tmp_path: Path) -> FileKeyProvider:
    return FileKeyProvider.open(tmp_path / "keys.json")


def write_blob(
    store: CountingStore, keys: FileKeyProvider, data: bytes, *, chunk: int = 1000, aad_id: bytes = AAD_ID
) -> SealedBlob:
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=aad_id, segment_size=SEG)
    for i in range(0, len(data), chunk):
        writer.write(data[i : i + chunk])
    assert writer.size == len(data)
    return writer.finish()


def read_chunks(
    store: CountingStore, keys: FileKeyProvider, blob: SealedBlob, **kwargs: int
) -> Iterator[memoryview]:
    return read_plaintext(
        store=store,
        keys=keys,
        blob_key=blob.blob_key,
        wrapped_dek=blob.wrapped_dek,
        aad_id=AAD_ID,
        plaintext_size=blob.size,
        **kwargs,
    )


def read(store: CountingStore, keys: FileKeyProvider, blob: SealedBlob, **kwargs: int) -> bytes:
    return b"".join(read_chunks(store, keys, blob, **kwargs))


def blob_path(store: LocalBlobStore, key: str) -> Path:
    return store.root / key[:2] / key[2:4] / key


SIZES = [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 5]
# Byte-at-a-time writes only for the small sizes: over many segments they add time, not coverage.
SIZE_CHUNKS = [(s, c) for s in SIZES for c in (1, 1000, SEG, 3 * SEG + 7) if c > 1 or s <= SEG + 1]


@pytest.mark.parametrize(("size", "chunk"), SIZE_CHUNKS)
def test_round_trip_and_hash(store: CountingStore, keys: FileKeyProvider, size: int, chunk: int) -> None:
    data = os.urandom(size)
    blob = write_blob(store, keys, data, chunk=chunk)
    assert blob.sha256 == hashlib.sha256(data).digest()
    assert blob.size == size
    assert blob.segment_size == SEG
    assert store.size(blob.blob_key) == sealed_size(plaintext_size=size, segment_size=SEG)
    assert read(store, keys, blob) == data
    assert (
        verify_blob(
            store=store,
            keys=keys,
            blob_key=blob.blob_key,
            wrapped_dek=blob.wrapped_dek,
            aad_id=AAD_ID,
            plaintext_size=size,
        )
        == hashlib.sha256(data).digest()
    )


def test_writes_of_bytearray_and_memoryview(store: CountingStore, keys: FileKeyProvider) -> None:
    data = os.urandom(2 * SEG + 3)
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD_ID, segment_size=SEG)
    buf = bytearray(data[:SEG])
    writer.write(buf)
    buf[:] = b"\0" * len(buf)  # the writer must not keep a reference to the caller's buffer
    writer.write(memoryview(data)[SEG:])
    blob = writer.finish()
    assert read(store, keys, blob) == data


RANGE_SIZE = 3 * SEG + 5
RANGES = [
    (0, 0),
    (0, 99),
    (10, SEG - 1),
    (SEG - 1, SEG),  # across a segment boundary
    (SEG - 10, 2 * SEG + 10),  # three segments
    (SEG, 2 * SEG - 1),  # exactly one whole middle segment
    (2 * SEG + 17, 3 * SEG + 2),
    (RANGE_SIZE - 1, RANGE_SIZE - 1),  # the last byte
    (3 * SEG, RANGE_SIZE - 1),  # the whole short last segment
    (0, RANGE_SIZE - 1),  # everything
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_range_reads_touch_only_needed_segments(
    store: CountingStore, keys: FileKeyProvider, start: int, end: int
) -> None:
    data = os.urandom(RANGE_SIZE)
    blob = write_blob(store, keys, data)
    store.reads.clear()
    assert read(store, keys, blob, start=start, end_inclusive=end) == data[start : end + 1]
    first, last = start // SEG, end // SEG
    header_read = (0, HEADER_SIZE)
    segment_reads = [
        (HEADER_SIZE + i * (SEG + TAG_SIZE), min(SEG, RANGE_SIZE - i * SEG) + TAG_SIZE)
        for i in range(first, last + 1)
    ]
    if last == (RANGE_SIZE - 1) // SEG:
        # A read that reaches the final segment asks for one byte past it, to notice appended bytes.
        offset, length = segment_reads[-1]
        segment_reads[-1] = (offset, length + 1)
    if store.maps:
        # Segments are decrypted from the map of the blob: nothing is copied out of it first.
        assert store.reads == [header_read]
        return
    # Adjacent segments may come in one read; what matters is that exactly their bytes are read.
    assert store.reads[0] == header_read
    assert merged(store.reads[1:]) == merged(segment_reads)
    assert all(length <= READ_AHEAD_SEGMENTS * (SEG + TAG_SIZE) + 1 for _, length in store.reads)


def merged(reads: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for offset, length in sorted(reads):
        if spans and spans[-1][0] + spans[-1][1] == offset:
            spans[-1] = (spans[-1][0], spans[-1][1] + length)
        else:
            spans.append((offset, length))
    return spans


def test_range_to_the_end_by_default(store: CountingStore, keys: FileKeyProvider) -> None:
    data = os.urandom(RANGE_SIZE)
    blob = write_blob(store, keys, data)
    assert read(store, keys, blob, start=SEG + 1) == data[SEG + 1 :]


def test_chunks_are_segment_views_that_stay_valid(store: CountingStore, keys: FileKeyProvider) -> None:
    data = os.urandom(RANGE_SIZE)
    blob = write_blob(store, keys, data)
    chunks = list(read_chunks(store, keys, blob, start=5))
    # Chunks are views (no copy per segment); a connection may still hold one while later
    # segments are read, so no later read may reuse its buffer while it is held.
    assert all(isinstance(c, memoryview) for c in chunks)
    assert b"".join(chunks) == data[5:]


def test_a_chunk_let_go_of_may_be_reused_but_a_held_one_is_not(
    store: CountingStore, keys: FileKeyProvider
) -> None:
    data = os.urandom(SEG * READ_AHEAD_SEGMENTS * 6 + 7)
    blob = write_blob(store, keys, data)
    chunks = read_chunks(store, keys, blob)
    held = next(chunks)
    first = bytes(held)
    received = bytearray(first)
    for chunk in chunks:
        received += chunk
        del chunk
    assert bytes(held) == first == data[: len(first)]
    assert received == data


def test_empty_file_yields_nothing_but_is_authenticated(store: CountingStore, keys: FileKeyProvider) -> None:
    blob = write_blob(store, keys, b"")
    store.reads.clear()
    assert (
        list(
            read_plaintext(
                store=store,
                keys=keys,
                blob_key=blob.blob_key,
                wrapped_dek=blob.wrapped_dek,
                aad_id=AAD_ID,
                plaintext_size=0,
            )
        )
        == []
    )
    assert store.reads == [(0, HEADER_SIZE)] + ([] if store.maps else [(HEADER_SIZE, TAG_SIZE + 1)])
    path = blob_path(store, blob.blob_key)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(raw)
    with pytest.raises(CorruptBlob):
        read(store, keys, blob)


@pytest.mark.parametrize(("start", "end"), [(0, RANGE_SIZE), (RANGE_SIZE, RANGE_SIZE), (5, 4), (-1, 3)])
def test_unsatisfiable_ranges_fail_before_any_read(
    store: CountingStore, keys: FileKeyProvider, start: int, end: int
) -> None:
    blob = write_blob(store, keys, os.urandom(RANGE_SIZE))
    store.reads.clear()
    with pytest.raises(RangeNotSatisfiable):
        read(store, keys, blob, start=start, end_inclusive=end)
    assert store.reads == []


def test_range_of_an_empty_file_is_unsatisfiable(store: CountingStore, keys: FileKeyProvider) -> None:
    blob = write_blob(store, keys, b"")
    with pytest.raises(RangeNotSatisfiable):
        read(store, keys, blob, start=0, end_inclusive=0)


def test_errors_surface_before_iteration(store: CountingStore, keys: FileKeyProvider) -> None:
    blob = write_blob(store, keys, os.urandom(10))
    with pytest.raises(NotFound):
        read_plaintext(
            store=store,
            keys=keys,
            blob_key="0" * 32,
            wrapped_dek=blob.wrapped_dek,
            aad_id=AAD_ID,
            plaintext_size=10,
        )
    other = write_blob(store, keys, b"other")
    with pytest.raises(KeyUnavailable):  # the DEK was wrapped for another blob key
        read_plaintext(
            store=store,
            keys=keys,
            blob_key=other.blob_key,
            wrapped_dek=blob.wrapped_dek,
            aad_id=AAD_ID,
            plaintext_size=5,
        )


def test_verify_blob_detects_a_flipped_byte(store: CountingStore, keys: FileKeyProvider) -> None:
    data = os.urandom(RANGE_SIZE)
    blob = write_blob(store, keys, data)
    path = blob_path(store, blob.blob_key)
    raw = bytearray(path.read_bytes())
    raw[HEADER_SIZE + 2 * (SEG + TAG_SIZE) + 7] ^= 0x04
    path.write_bytes(raw)
    with pytest.raises(CorruptBlob, match="Segment 2"):
        verify_blob(
            store=store,
            keys=keys,
            blob_key=blob.blob_key,
            wrapped_dek=blob.wrapped_dek,
            aad_id=AAD_ID,
            plaintext_size=blob.size,
        )
    # a range that avoids the damaged segment still reads
    assert read(store, keys, blob, start=0, end_inclusive=SEG - 1) == data[:SEG]


@pytest.mark.parametrize("change", ["truncate", "append"])
def test_verify_blob_detects_a_changed_length(
    store: CountingStore, keys: FileKeyProvider, change: str
) -> None:
    blob = write_blob(store, keys, os.urandom(RANGE_SIZE))
    path = blob_path(store, blob.blob_key)
    raw = path.read_bytes()
    path.write_bytes(raw[:-1] if change == "truncate" else raw + b"\0")
    with pytest.raises(CorruptBlob, match="bytes"):
        verify_blob(
            store=store,
            keys=keys,
            blob_key=blob.blob_key,
            wrapped_dek=blob.wrapped_dek,
            aad_id=AAD_ID,
            plaintext_size=blob.size,
        )


def test_wrong_aad_id_fails(store: CountingStore, keys: FileKeyProvider) -> None:
    blob = write_blob(store, keys, os.urandom(10), aad_id=b"version-A")
    with pytest.raises(CorruptBlob):
        read(store, keys, blob)  # reads with AAD_ID


def test_keys_and_nonces_are_never_reused(store: CountingStore, keys: FileKeyProvider) -> None:
    data = os.urandom(2 * SEG)
    one = write_blob(store, keys, data)
    two = write_blob(store, keys, data)
    assert one.sha256 == two.sha256
    assert one.blob_key != two.blob_key
    dek_one = keys.unwrap_data_key(one.wrapped_dek, context=one.blob_key.encode())
    dek_two = keys.unwrap_data_key(two.wrapped_dek, context=two.blob_key.encode())
    assert dek_one != dek_two
    raw_one = blob_path(store, one.blob_key).read_bytes()
    raw_two = blob_path(store, two.blob_key).read_bytes()
    assert (
        parse_header(raw_one[:HEADER_SIZE]).nonce_prefix != parse_header(raw_two[:HEADER_SIZE]).nonce_prefix
    )
    assert raw_one[HEADER_SIZE:] != raw_two[HEADER_SIZE:]
    # The stored blob really is the format: open segment 0 by hand with the unwrapped key.
    header = parse_header(raw_one[:HEADER_SIZE])
    nonce = header.nonce_prefix + (0).to_bytes(4, "big") + b"\x00"
    segment = raw_one[HEADER_SIZE : HEADER_SIZE + SEG + TAG_SIZE]
    assert AESGCM(dek_one).decrypt(nonce, segment, header.raw + AAD_ID) == data[:SEG]


def test_nothing_is_visible_until_finish_and_abort_cleans_up(
    store: CountingStore, keys: FileKeyProvider
) -> None:
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD_ID, segment_size=SEG)
    writer.write(os.urandom(5 * SEG))
    assert not store.exists(writer.blob_key)
    assert list(store.list_blobs()) == []
    writer.abort()
    writer.abort()
    assert not store.exists(writer.blob_key)
    assert list((store.root / ".partial").iterdir()) == []
    with pytest.raises(RuntimeError):
        writer.write(b"more")


def test_finished_writer_takes_nothing_more(store: CountingStore, keys: FileKeyProvider) -> None:
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD_ID, segment_size=SEG)
    writer.write(b"abc")
    blob = writer.finish()
    with pytest.raises(RuntimeError):
        writer.write(b"more")
    with pytest.raises(RuntimeError):
        writer.finish()
    writer.abort()  # a no-op after finish
    assert read(store, keys, blob) == b"abc"


def test_explicit_blob_key_and_wrap_context(store: CountingStore, keys: FileKeyProvider) -> None:
    key = "ab" * 16
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD_ID, segment_size=SEG, blob_key=key)
    writer.write(b"hello")
    blob = writer.finish()
    assert blob.blob_key == key
    assert keys.unwrap_data_key(blob.wrapped_dek, context=key.encode("ascii"))
    with pytest.raises(KeyUnavailable):
        keys.unwrap_data_key(blob.wrapped_dek, context=b"another-key")


class FillingWriter:
    """Wraps a real local writer whose disk 'fills up' after a number of writes."""

    def __init__(self, inner: BlobWriter, *, writes_allowed: int) -> None:
        self.inner = inner
        self.writes_left = writes_allowed

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.writes_left == 0:
            raise Unavailable("The blob store could not write a blob: No space left on device.")
        self.writes_left -= 1
        self.inner.write(data)

    def complete(self) -> None:
        self.inner.complete()

    def abort(self) -> None:
        self.inner.abort()


class FillingStore(LocalBlobStore):
    def create(self, key: str) -> BlobWriter:
        return FillingWriter(super().create(key), writes_allowed=3)


def _write_until_failure(writer: SealedBlobWriter) -> None:
    for _ in range(10):
        writer.write(os.urandom(SEG))
    writer.finish()


def test_storage_failure_mid_upload_aborts_the_blob(tmp_path: Path, keys: FileKeyProvider) -> None:
    store = FillingStore(tmp_path / "blobs")
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD_ID, segment_size=SEG)
    # header + 2 segments succeed; the 3rd segment's write fails on the sealing thread and
    # surfaces from a later write() or from finish().
    with pytest.raises(Unavailable, match="No space"):
        _write_until_failure(writer)
    assert list(store.list_blobs()) == []
    assert list((store.root / ".partial").iterdir()) == []
    with pytest.raises(RuntimeError):
        writer.write(b"more")
    writer.abort()


def _mapped_file_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("RssFile:"))


def test_a_long_mapped_read_lets_go_of_the_pages_behind_it(tmp_path: Path, keys: FileKeyProvider) -> None:
    """A map's pages count as the server's memory while mapped: a 96 MiB download must not hold
    96 MiB of them at its end (the peak RSS goal), only the last few batches'."""
    store = CountingStore(tmp_path / "blobs", maps=True)
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD_ID, segment_size=1 << 20)
    piece = os.urandom(1 << 20)
    for _ in range(96):
        writer.write(piece)
    blob = writer.finish()
    before = _mapped_file_kib()
    grown = 0
    for chunk in read_chunks(store, keys, blob):
        assert chunk[:16] == piece[:16]
        grown = max(grown, _mapped_file_kib() - before)
    assert store.reads == [(0, HEADER_SIZE)]  # decrypted from the map
    assert grown < 48 << 10


def test_a_long_read_from_the_disk_reads_ahead_and_returns_every_byte(
    tmp_path: Path, keys: FileKeyProvider
) -> None:
    """A download of a blob no longer in the page cache (uploads drop theirs) asks the kernel to read
    ahead of the decrypting thread, at offsets that are not page-aligned (segments are 1 MiB + a
    tag): every byte must still come back, in order, at the end of a size that is no whole page."""
    store = CountingStore(tmp_path / "blobs", maps=True)
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=AAD_ID, segment_size=1 << 20)
    data = os.urandom((70 << 20) + 4097)
    for at in range(0, len(data), 1 << 20):
        writer.write(data[at : at + (1 << 20)])
    blob = writer.finish()
    fd = os.open(blob_path(store, blob.blob_key), os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # read from the disk, as a cold blob is
    finally:
        os.close(fd)
    digest = hashlib.sha256()
    for chunk in read_chunks(store, keys, blob):
        digest.update(chunk)
    assert digest.digest() == hashlib.sha256(data).digest()
    assert store.reads == [(0, HEADER_SIZE)]  # decrypted from the map
