"""The upload writers' cheap paths: early write-out of the local blob, its pages dropped behind once on
the disk, no loop wake-up per segment."""

import asyncio
import ctypes
import errno
import hashlib
import mmap
import os
import subprocess
import sys
from concurrent.futures import wait
from pathlib import Path

import pytest

from strongroom.errors import StorageFull, Unavailable
from strongroom.storage import sealed_blobs
from strongroom.storage.blob_backends import local_writers
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.sealed_blobs import SealedBlobWriter, read_plaintext

MIB = 1 << 20


def test_the_local_writer_starts_write_out_every_step_while_it_receives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[int, int]] = []
    real = local_writers.start_writeback

    def recording(fd: int, *, offset: int, length: int) -> None:
        started.append((offset, length))
        real(fd, offset=offset, length=length)

    monkeypatch.setattr(local_writers, "start_writeback", recording)
    store = LocalBlobStore(tmp_path / "blobs")
    writer = store.create("ab" * 16)
    piece = os.urandom(MIB)
    for _ in range(2 * local_writers.WRITEBACK_STEP // MIB + 3):
        writer.write(piece)
    writer.complete()

    step = local_writers.WRITEBACK_STEP
    # Contiguous ranges from the start, one per step; the rest is left to the final fsync.
    assert started == [(0, step), (step, step)]
    assert store.size("ab" * 16) == 2 * step + 3 * MIB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range(2) is Linux's")
def test_write_out_is_asked_of_the_kernel_on_linux(tmp_path: Path) -> None:
    assert local_writers._sync_file_range() is not None
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"x" * MIB)
        local_writers.start_writeback(fd, offset=0, length=MIB)  # neither raises nor waits
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x" * MIB


def _cached_bytes(path: Path) -> int:
    """How many of the file's bytes are in the page cache now (mincore(2) on a map of it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    )
    libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert address not in (None, ctypes.c_void_p(-1).value)
        pages = -(-size // mmap.PAGESIZE)
        residency = ctypes.create_string_buffer(pages)
        try:
            assert libc.mincore(address, size, residency) == 0
        finally:
            libc.munmap(address, size)
    finally:
        os.close(fd)
    return sum(b & 1 for b in residency.raw) * mmap.PAGESIZE


def _file_system_type(path: Path) -> str:
    return subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range(2) is Linux's")
def test_a_stored_blob_keeps_only_its_last_windows_in_the_page_cache(tmp_path: Path) -> None:
    if _file_system_type(tmp_path) == "tmpfs":
        pytest.skip("on tmpfs the page cache is the storage: nothing can leave it")
    store = LocalBlobStore(tmp_path / "blobs")
    writer = store.create("cd" * 16)
    step = local_writers.WRITEBACK_STEP
    written = bytearray()
    for n in range(6 * step // MIB + 3):
        piece = bytes([n]) * MIB
        writer.write(piece)
        written += piece
    writer.complete()

    blob = next((tmp_path / "blobs").rglob("cd" * 16 + "*"))
    # 51 MiB written: what is still cached is at most the last two windows and the tail, not the
    # whole upload (the machine's memory does not fill with stored evidence) ...
    assert _cached_bytes(blob) <= 2 * step + 3 * MIB
    # ... and every byte is still there, read back from the disk.
    assert blob.read_bytes() == written


@pytest.mark.parametrize(
    ("code", "answer"), [(errno.EIO, Unavailable), (errno.ENOSPC, StorageFull)], ids=["io-error", "disk-full"]
)
def test_a_write_out_that_fails_fails_the_upload_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, answer: type[Exception]
) -> None:
    """Waiting for write-out reports its error once to this descriptor (the final fsync would not
    see it again), so the writer must raise it itself. A failing disk cannot be made here for real;
    the C call is replaced by one that fails as the kernel does."""

    def failing_sync_file_range(fd: int, offset: int, length: int, flags: int) -> int:
        if flags & 4:  # SYNC_FILE_RANGE_WAIT_AFTER
            ctypes.set_errno(code)
            return -1
        return 0

    monkeypatch.setattr(local_writers, "_sync_file_range", lambda: failing_sync_file_range)
    store = LocalBlobStore(tmp_path / "blobs")
    writer = store.create("ef" * 16)
    for _ in range(2 * local_writers.WRITEBACK_STEP // MIB - 1):
        writer.write(b"z" * MIB)  # the first window: write-out started, nothing waited for yet
    with pytest.raises(answer):
        writer.write(b"z" * MIB)  # the second: the first is waited for, and its failure comes back
    writer.abort()
    assert list(store.list_blobs()) == []


def test_a_file_system_without_write_out_control_still_stores_the_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where sync_file_range is refused (EINVAL: nothing written, nothing waited for), the pages only
    stay cached: the upload is stored whole, by the fsync as always."""

    def refusing_sync_file_range(fd: int, offset: int, length: int, flags: int) -> int:
        ctypes.set_errno(errno.EINVAL)
        return -1

    monkeypatch.setattr(local_writers, "_sync_file_range", lambda: refusing_sync_file_range)
    store = LocalBlobStore(tmp_path / "blobs")
    writer = store.create("ab" * 16)
    data = os.urandom(3 * local_writers.WRITEBACK_STEP + 5)
    for at in range(0, len(data), MIB):
        writer.write(data[at : at + MIB])
    writer.complete()
    assert next((tmp_path / "blobs").rglob("ab" * 16 + "*")).read_bytes() == data


def test_a_finished_seal_job_is_taken_without_waking_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = FileKeyProvider.open(tmp_path / "keys")
    store = LocalBlobStore(tmp_path / "blobs")
    wrapped: list[object] = []
    real_wrap = asyncio.wrap_future

    def counting_wrap(future: object) -> object:
        wrapped.append(future)
        return real_wrap(future)  # type: ignore[arg-type]

    monkeypatch.setattr(sealed_blobs.asyncio, "wrap_future", counting_wrap)
    seg = 64 << 10
    data = os.urandom(5 * seg + 7)
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=b"ver_x", segment_size=seg)

    async def feed() -> None:
        for at in range(0, len(data), seg):
            await writer.write_async(data[at : at + seg])
            if writer._pending is not None:
                wait([writer._pending])  # the job ends before the next segment needs the buffers

    asyncio.run(feed())
    sealed = writer.finish()
    assert wrapped == []
    assert sealed.sha256 == hashlib.sha256(data).digest()
    back = read_plaintext(
        store=store,
        keys=keys,
        blob_key=sealed.blob_key,
        wrapped_dek=sealed.wrapped_dek,
        aad_id=b"ver_x",
        plaintext_size=len(data),
    )
    assert b"".join(back) == data


def test_a_failed_seal_job_still_fails_the_upload_when_taken_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = FileKeyProvider.open(tmp_path / "keys")
    store = LocalBlobStore(tmp_path / "blobs")
    seg = 64 << 10
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=b"ver_x", segment_size=seg)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_hash_seal_and_store", full_disk)

    async def feed() -> None:
        await writer.write_async(b"a" * seg)
        await writer.write_async(b"b")  # hands segment 0 to the pool
        assert writer._pending is not None
        wait([writer._pending])
        await writer.write_async(b"c" * seg)  # segment 1 full: takes segment 0's failed job

    with pytest.raises(OSError, match="No space"):
        asyncio.run(feed())
    asyncio.run(writer.settle())
    writer.abort()
    assert list(store.list_blobs()) == []
