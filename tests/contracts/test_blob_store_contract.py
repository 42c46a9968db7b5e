"""The BlobStore contract (storage/blobs.py), run against every implementation.

To add a backend: add a factory to STORES. A factory gets pytest's request and tmp_path and
returns a fresh, empty store plus a function that ages every partial write (to test
purge_partials without waiting). "azure" runs on Azurite and "s3" on SeaweedFS, both started by
the tests (tests/support/object_stores.py).
"""

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.object_stores import ObjectStoreServer

from strongroom.errors import Conflict, InputError, NotFound
from strongroom.storage.blob_backends.by_url import open_blob_store
from strongroom.storage.blob_backends.local import PARTIAL_DIR, LocalBlobStore
from strongroom.storage.blob_backends.objects import ObjectBlobStore
from strongroom.storage.blobs import BlobStore, new_blob_key

AgePartials = Callable[[timedelta], None]


def _local(_request: pytest.FixtureRequest, tmp_path: Path) -> tuple[BlobStore, AgePartials]:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)

    def age(by: timedelta) -> None:
        for path in (root / PARTIAL_DIR).iterdir():
            # As a crash leaves it: the same bytes, no longer held (locked) by a live writer.
            copy = path.with_name(path.name + ".copy")
            copy.write_bytes(path.read_bytes())
            copy.replace(path)
            then = time.time() - by.total_seconds()
            os.utime(path, (then, then))

    return store, age


def _object_store(
    server_fixture: str,
) -> Callable[[pytest.FixtureRequest, Path], tuple[BlobStore, AgePartials]]:
    def make(request: pytest.FixtureRequest, _tmp_path: Path) -> tuple[BlobStore, AgePartials]:
        server: ObjectStoreServer = request.getfixturevalue(server_fixture)
        # A small part size, so that the tests' multi-part blobs really are uploaded in parts.
        store = open_blob_store(
            server.fresh_url(), default_path=Path("unused"), part_size=5 << 20, environ=server.env
        )
        assert isinstance(store, ObjectBlobStore)

        def age(by: timedelta) -> None:
            store.rewrite_markers(lambda last_write: last_write - by.total_seconds())

        return store, age

    return make


STORES: dict[str, Callable[[pytest.FixtureRequest, Path], tuple[BlobStore, AgePartials]]] = {
    "local": _local,
    "azure": _object_store("azurite"),
    "s3": _object_store("seaweedfs"),
}


@pytest.fixture(params=sorted(STORES))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[BlobStore, AgePartials]:
    return STORES[request.param](request, tmp_path)


@pytest.fixture
def store(backend: tuple[BlobStore, AgePartials]) -> BlobStore:
    return backend[0]


def put(store: BlobStore, data: bytes, *, key: str | None = None) -> str:
    key = key or new_blob_key()
    writer = store.create(key)
    for i in range(0, len(data), 1000):
        writer.write(memoryview(data)[i : i + 1000])
    writer.complete()
    return key


def test_new_blob_key_shape() -> None:
    key = new_blob_key()
    assert len(key) == 32
    assert key == key.lower()
    int(key, 16)
    assert new_blob_key() != key


def test_write_complete_read(store: BlobStore) -> None:
    data = os.urandom(10_000)
    key = put(store, data)
    assert store.exists(key)
    assert store.size(key) == len(data)
    assert store.read(key, offset=0, length=len(data)) == data
    assert store.read(key, offset=1234, length=5000) == data[1234:6234]
    assert store.read(key, offset=9999, length=1) == data[9999:]
    assert store.read(key, offset=0, length=0) == b""


def test_short_read_only_at_the_end(store: BlobStore) -> None:
    data = os.urandom(3000)
    key = put(store, data)
    assert store.read(key, offset=2500, length=1000) == data[2500:]
    assert store.read(key, offset=3000, length=10) == b""
    assert store.read(key, offset=5000, length=10) == b""


def test_empty_blob(store: BlobStore) -> None:
    key = put(store, b"")
    assert store.exists(key)
    assert store.size(key) == 0
    assert store.read(key, offset=0, length=10) == b""


def test_accepts_bytearray_and_memoryview(store: BlobStore) -> None:
    key = new_blob_key()
    writer = store.create(key)
    writer.write(bytearray(b"abc"))
    writer.write(memoryview(b"defgh")[1:3])
    writer.write(b"")
    writer.complete()
    assert store.read(key, offset=0, length=100) == b"abcef"


def test_partial_is_invisible_until_complete(store: BlobStore) -> None:
    key = new_blob_key()
    writer = store.create(key)
    writer.write(b"x" * 5000)
    assert not store.exists(key)
    assert [b.key for b in store.list_blobs()] == []
    with pytest.raises(NotFound):
        store.read(key, offset=0, length=1)
    with pytest.raises(NotFound):
        store.size(key)
    writer.complete()
    assert store.exists(key)


def test_abort_leaves_nothing_and_is_idempotent(backend: tuple[BlobStore, AgePartials]) -> None:
    store, _ = backend
    key = new_blob_key()
    writer = store.create(key)
    writer.write(b"y" * 5000)
    writer.abort()
    writer.abort()
    assert not store.exists(key)
    assert list(store.list_blobs()) == []
    assert store.purge_partials(older_than=datetime.now(UTC) + timedelta(days=1)) == 0


def test_abort_after_complete_keeps_the_blob(store: BlobStore) -> None:
    key = new_blob_key()
    writer = store.create(key)
    writer.write(b"keep")
    writer.complete()
    writer.abort()
    assert store.read(key, offset=0, length=4) == b"keep"


def test_missing_blob(store: BlobStore) -> None:
    key = new_blob_key()
    assert not store.exists(key)
    with pytest.raises(NotFound) as info:
        store.read(key, offset=0, length=1)
    assert info.value.data["kind"] == "blob"
    with pytest.raises(NotFound):
        store.size(key)


def test_delete_is_idempotent(store: BlobStore) -> None:
    key = put(store, b"gone soon")
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)
    with pytest.raises(NotFound):
        store.read(key, offset=0, length=1)


def test_existing_key_cannot_be_created_again(store: BlobStore) -> None:
    key = put(store, b"first")
    with pytest.raises(Conflict):
        store.create(key)
    assert store.read(key, offset=0, length=10) == b"first"


def test_list_blobs(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    sizes = {put(store, os.urandom(n)): n for n in (0, 1, 4096)}
    open_writer = store.create(new_blob_key())
    open_writer.write(b"partial")
    infos = list(store.list_blobs())
    assert {i.key: i.size for i in infos} == sizes
    for info in infos:
        assert info.modified_at.tzinfo is not None
        assert info.modified_at.utcoffset() == timedelta(0)
        assert before <= info.modified_at <= datetime.now(UTC) + timedelta(seconds=5)
    open_writer.abort()


def test_purge_partials_removes_only_old_partials(backend: tuple[BlobStore, AgePartials]) -> None:
    store, age = backend
    complete_key = put(store, b"done")
    abandoned = store.create(new_blob_key())
    abandoned.write(b"crashed mid-upload")
    age(timedelta(hours=2))
    live_key = new_blob_key()
    live = store.create(live_key)
    live.write(b"still uploading")

    assert store.purge_partials(older_than=datetime.now(UTC) - timedelta(hours=1)) == 1
    assert store.purge_partials(older_than=datetime.now(UTC) - timedelta(hours=1)) == 0
    live.write(b" and more")
    live.complete()
    assert store.read(live_key, offset=0, length=100) == b"still uploading and more"
    assert store.exists(complete_key)
    abandoned.abort()  # after a purge, abort still succeeds


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../../etc/passwd",
        "ABCDEF0123456789ABCDEF0123456789",
        "0123456789abcdef/../x",
        "zz" * 16,
        "ab",
        ".partial",
    ],
)
def test_bad_keys_are_rejected(store: BlobStore, key: str) -> None:
    with pytest.raises(InputError):
        store.create(key)
    with pytest.raises(InputError):
        store.read(key, offset=0, length=1)
    with pytest.raises(InputError):
        store.exists(key)
    with pytest.raises(InputError):
        store.delete(key)


def test_negative_offsets_are_rejected(store: BlobStore) -> None:
    key = put(store, b"abc")
    with pytest.raises(InputError):
        store.read(key, offset=-1, length=1)
    with pytest.raises(InputError):
        store.read(key, offset=0, length=-1)


def test_many_blobs_share_prefix_directories(store: BlobStore) -> None:
    keys = [put(store, k.encode(), key=k) for k in ("aabb" + "0" * 28, "aabb" + "1" * 28, "aacc" + "2" * 28)]
    assert sorted(i.key for i in store.list_blobs()) == sorted(keys)
    for key in keys:
        assert store.read(key, offset=0, length=100) == key.encode()


def test_local_layout_and_durable_rename(tmp_path: Path) -> None:
    """Local only: complete blobs live at root/ab/cd/<key>; partials under root/.partial."""
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    key = new_blob_key()
    writer = store.create(key)
    writer.write(b"data")
    partials = list((root / PARTIAL_DIR).iterdir())
    assert len(partials) == 1
    assert partials[0].name.startswith(key + ".")
    writer.complete()
    assert (root / key[:2] / key[2:4] / key).read_bytes() == b"data"
    assert list((root / PARTIAL_DIR).iterdir()) == []


def test_resumable_blob_survives_close_and_resumes(backend: tuple[BlobStore, AgePartials]) -> None:
    store, age = backend
    key = new_blob_key()
    first = store.resume(key, size=0)
    first.write(b"hello ")
    first.sync()
    first.write(b"unacknowledged")
    first.close()
    first.close()
    assert not store.exists(key)
    assert list(store.list_blobs()) == []
    age(timedelta(days=3))
    assert store.purge_partials(older_than=datetime.now(UTC)) == 0  # a paused upload is not a crash leftover

    again = store.resume(key, size=6)  # drops the bytes the caller never acknowledged
    assert again.size == 6
    assert again.read(offset=0, length=100) == b"hello "
    again.write(b"world")
    assert again.size == 11
    again.complete()
    assert store.read(key, offset=0, length=100) == b"hello world"
    with pytest.raises(Conflict):
        store.resume(key, size=0)


def test_resume_refuses_missing_or_short_partials(store: BlobStore) -> None:
    key = new_blob_key()
    with pytest.raises(NotFound):
        store.resume(key, size=1)
    writer = store.resume(key, size=0)
    writer.write(b"abc")
    writer.sync()
    writer.close()
    with pytest.raises(NotFound):
        store.resume(key, size=4)
    assert store.resume(key, size=3).read(offset=0, length=3) == b"abc"


def test_resumable_abort_and_discard_remove_the_partial(store: BlobStore) -> None:
    aborted, discarded = new_blob_key(), new_blob_key()
    writer = store.resume(aborted, size=0)
    writer.write(b"x")
    writer.abort()
    writer.abort()
    with pytest.raises(NotFound):
        store.resume(aborted, size=1)
    other = store.resume(discarded, size=0)
    other.write(b"y")
    other.sync()
    other.close()
    store.discard_resumable(discarded)
    store.discard_resumable(discarded)
    with pytest.raises(NotFound):
        store.resume(discarded, size=1)
    with pytest.raises(InputError):
        store.discard_resumable("../x")


def test_writer_keeps_no_reference_to_the_callers_buffer(store: BlobStore) -> None:
    """SealedBlobWriter seals every segment into one reused buffer: a store that kept a view of it
    until upload would store the last segment many times over."""
    key = new_blob_key()
    writer = store.create(key)
    buffer = bytearray(1000)
    for fill in b"abc":
        buffer[:] = bytes([fill]) * 1000
        writer.write(memoryview(buffer))
    buffer[:] = b"z" * 1000
    writer.complete()
    assert store.read(key, offset=0, length=3000) == b"a" * 1000 + b"b" * 1000 + b"c" * 1000


def test_large_blob_streams_in_parts_and_reads_any_range(store: BlobStore) -> None:
    """12 MiB in 1 MiB writes: several multipart parts (5 MiB) on object stores; ranged reads
    across part boundaries come back exact."""
    data = os.urandom(12 << 20)
    key = new_blob_key()
    writer = store.create(key)
    for i in range(0, len(data), 1 << 20):
        writer.write(memoryview(data)[i : i + (1 << 20)])
    assert not store.exists(key)
    writer.complete()
    assert store.size(key) == len(data)
    for offset, length in ((0, 10), ((5 << 20) - 7, 20), ((12 << 20) - 5, 100), (123_457, 3 << 20)):
        assert store.read(key, offset=offset, length=length) == data[offset : offset + length]
    into = bytearray(4096)
    assert store.read_into(key, offset=(10 << 20) + 1, into=into) == 4096
    assert bytes(into) == data[(10 << 20) + 1 : (10 << 20) + 4097]


def test_a_mapped_blob_holds_what_read_returns(store: BlobStore) -> None:
    """mapped() is optional (None: read with read_into); a map, where given, is the whole blob."""
    data = os.urandom((1 << 20) + 5)
    key = new_blob_key()
    writer = store.create(key)
    writer.write(data)
    writer.complete()
    mapped = store.mapped(key)
    if isinstance(store, LocalBlobStore):
        assert mapped is not None  # the download path decrypts from the map, with no copy first
    if mapped is not None:
        assert mapped[:] == data
        mapped.close()
        with pytest.raises(NotFound):
            store.mapped(new_blob_key())


def test_large_aborted_upload_leaves_nothing(store: BlobStore) -> None:
    key = new_blob_key()
    writer = store.create(key)
    for _ in range(12):
        writer.write(os.urandom(1 << 20))
    writer.abort()
    assert not store.exists(key)
    assert list(store.list_blobs()) == []


def test_large_resumable_blob_across_writers(store: BlobStore) -> None:
    """A tus upload resumed by another writer (another process) after an unacknowledged tail."""
    data = os.urandom(11 << 20)
    key = new_blob_key()
    first = store.resume(key, size=0)
    first.write(data[: 6 << 20])
    first.sync()
    first.write(b"never acknowledged")
    first.sync()
    first.close()
    second = store.resume(key, size=6 << 20)
    assert second.read(offset=(6 << 20) - 3, length=10) == data[(6 << 20) - 3 : 6 << 20]
    second.write(data[6 << 20 :])
    second.complete()
    assert store.size(key) == len(data)
    assert store.read(key, offset=(6 << 20) - 100, length=200) == data[(6 << 20) - 100 : (6 << 20) + 100]


def _twin(store: BlobStore) -> BlobStore:
    """The same store as another process opens it."""
    if isinstance(store, LocalBlobStore):
        return LocalBlobStore(store.root)
    assert isinstance(store, ObjectBlobStore)
    return ObjectBlobStore(store.objects, prefix=store.prefix, part_size=store.part_size)


def test_another_process_learns_when_a_writer_is_gone(store: BlobStore) -> None:
    """A tus lease of a stopped process is taken over at once; a live one's never."""
    other = _twin(store)
    writer_id = store.writer_id
    assert not other.writer_gone(writer_id)
    assert not store.writer_gone(writer_id)
    assert other.writer_gone("0" * 32)  # never seen: nobody holds it
    store.close()  # what the end of the process does (the kernel's lock release; the last heartbeat)
    assert other.writer_gone(writer_id)
