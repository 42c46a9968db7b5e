"""Writing blobs into the local directory store: partial files under an flock, fsync, durable directories.

The disk's errors become answers here (`disk_errors`): a full disk is StorageFull (507), any other
failure Unavailable (503). `local` holds the store that hands these writers out.
"""

import contextlib
import ctypes
import errno
import fcntl
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from strongroom.errors import InputError, NotFound, StorageFull, Unavailable
from strongroom.storage.blobs import BlobWriter, ResumableBlobWriter

NASCENT_PREFIX: Final = ".new-"
_DISK_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
OPEN_FLAGS: Final = os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
# Dirty bytes a writer lets gather before it asks the kernel to start writing them out.
WRITEBACK_STEP: Final = 8 << 20
_SYNC_FILE_RANGE_WRITE: Final = 2  # linux/fs.h: start write-out of dirty pages, do not wait
_SYNC_FILE_RANGE_WAIT_ALL: Final = 1 | 2 | 4  # wait for write-out under way, start it, wait for it
# What sync_file_range answers where a file system does not support it: nothing was written or waited for.
_NOT_SUPPORTED: Final = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ESPIPE})


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's sync_file_range(2) from the C library, or None where there is none (Python has no
    wrapper). ctypes releases the GIL for the call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        # The process's own symbols, libc's among them: no search for the library (find_library
        # would run ldconfig in a subprocess).
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    call.restype = ctypes.c_int
    return call


def start_writeback(fd: int, *, offset: int, length: int) -> None:
    """Ask the kernel to start writing [offset, offset + length) to the disk now, without waiting.

    Only a head start for the fsync that follows: without it, a whole upload's dirty page cache
    (below the machine's background threshold, often gigabytes) waits for the final fsync, whose
    write-out then adds its full length to the answer's wall time. Durability still comes from the
    fsync alone; a failure here is ignored for the same reason.
    """
    call = _sync_file_range()
    if call is not None:
        call(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def drop_behind(fd: int, *, offset: int, length: int) -> None:
    """Wait until [offset, offset + length) is on the disk, then let its pages leave the page cache.

    A stored blob is rarely read again soon, while every page it leaves in the cache is memory the
    machine must find for the next upload: on a virtual machine whose host takes freed memory back,
    finding it cost 2.5-3.3 CPU-s per GiB written (bench/README.md, "the page cache, and where the
    floors are"), more than hashing and sealing together. So a writer keeps only its last windows
    cached; it also keeps a day of incoming video from pushing the database's pages out of memory.

    A failed write-out SHALL be raised, not ignored: sync_file_range(2) that waits reports it to this
    descriptor once, so the final fsync would no longer see it. A file system that cannot do this
    at all (the call refused, nothing waited for) only keeps its pages cached.
    """
    call = _sync_file_range()
    if call is None:
        return
    if call(fd, offset, length, _SYNC_FILE_RANGE_WAIT_ALL) != 0:
        code = ctypes.get_errno()
        if code in _NOT_SUPPORTED:
            return
        raise OSError(code, os.strerror(code))
    os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


@contextmanager
def disk_errors(what: str) -> Iterator[None]:
    """The seam where OS errors become answers: a full disk is StorageFull (507), anything else (I/O
    error, permissions) Unavailable (503). The caller aborts the writer, which removes the partial."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise StorageFull(
                "The disk that holds stored files is full, so this was not stored; nothing was recorded."
            ) from exc
        raise Unavailable(f"The blob store could not {what}: {exc.strerror or exc}.") from exc


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Directories this process has seen made durable; each costs its fsyncs once per process.
_DURABLE_DIRS: set[Path] = set()
_DURABLE_DIRS_LOCK = threading.Lock()


def ensure_dir(path: Path) -> None:
    """Create `path` (and its parents) durably before a blob is renamed into it: the new directory
    itself and its entry in the parent are fsynced, or the blob could vanish with it after a crash.

    A directory found already there may have been made a moment ago by another writer that has not
    fsynced it yet, so the first sight of one in this process fsyncs it too.
    """
    if path in _DURABLE_DIRS:
        return
    if not path.is_dir():
        ensure_dir(path.parent)
        with contextlib.suppress(FileExistsError):  # another writer made it: fsynced below anyway
            path.mkdir()
    fsync_dir(path)
    fsync_dir(path.parent)
    with _DURABLE_DIRS_LOCK:
        _DURABLE_DIRS.add(path)


class LocalBlobWriter(BlobWriter):
    """Appends to a partial file with os.write; one fsync at complete(), none per write."""

    def __init__(self, *, partial: Path, final: Path) -> None:
        self._partial = partial
        self._final = final
        # Created under a name purge_partials leaves alone, locked, then renamed: every partial
        # that purge_partials sees under its own name is locked while its writer lives.
        nascent = partial.with_name(NASCENT_PREFIX + partial.name)
        with disk_errors("start a blob"):
            fd = os.open(nascent, os.O_WRONLY | os.O_CREAT | os.O_EXCL | OPEN_FLAGS, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                nascent.rename(partial)
            except BaseException:
                os.close(fd)
                nascent.unlink(missing_ok=True)
                raise
        self._fd: int | None = fd
        self._state = "open"  # open -> completing -> done | aborted
        self._written = 0  # file offset after the last write
        self._flushed = 0  # offset up to which write-out was started
        self._dropped = 0  # offset up to which pages were written out and left the page cache

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fd is None or self._state != "open":
            raise RuntimeError(f"write() on a blob writer that is {self._state}")
        view = memoryview(data).cast("B")
        with disk_errors("write a blob"):
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
                self._written += n
            if self._written - self._flushed >= WRITEBACK_STEP:
                start_writeback(self._fd, offset=self._flushed, length=self._written - self._flushed)
                # The window before is on its way to the disk since the last step: by now its
                # write-out has mostly finished, so waiting for it rarely holds the upload back.
                if self._flushed > self._dropped:
                    drop_behind(self._fd, offset=self._dropped, length=self._flushed - self._dropped)
                    self._dropped = self._flushed
                self._flushed = self._written

    def complete(self) -> None:
        if self._fd is None or self._state != "open":
            raise RuntimeError(f"complete() on a blob writer that is {self._state}")
        self._state = "completing"
        fd, self._fd = self._fd, None
        with disk_errors("store a blob durably"):
            try:
                os.fsync(fd)
                ensure_dir(self._final.parent)
                # Renamed while still open and locked, so purge_partials never takes it for abandoned.
                self._partial.replace(self._final)
                fsync_dir(self._final.parent)
            finally:
                os.close(fd)
        self._state = "done"

    def abort(self) -> None:
        if self._state in ("done", "aborted"):
            return
        # Unlinked before its lock goes with the descriptor.
        self._partial.unlink(missing_ok=True)
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        if self._state == "completing":
            # complete() failed after the rename, perhaps before the directory fsync: the caller
            # treats the blob as never written, so it must not linger as an orphan.
            self._final.unlink(missing_ok=True)
        self._state = "aborted"


class LocalResumableWriter(LocalBlobWriter, ResumableBlobWriter):
    """Appends to ``.resumable/<key>`` after truncating it to the bytes the caller acknowledged."""

    def __init__(self, *, partial: Path, final: Path, size: int) -> None:
        # Not super().__init__: that creates the partial exclusively; this reopens it.
        self._partial = partial
        self._final = final
        self._state = "open"
        if size < 0:
            raise InputError("A resumable blob size cannot be negative.")
        flags = os.O_RDWR | (os.O_CREAT if size == 0 else 0) | OPEN_FLAGS
        try:
            fd = os.open(partial, flags, 0o600)
        except FileNotFoundError:
            raise NotFound("resumable blob", partial.name) from None
        except OSError as exc:
            raise Unavailable(f"The blob store could not resume a blob: {exc.strerror or exc}.") from exc
        try:
            with disk_errors("resume a blob"):
                held = os.fstat(fd).st_size
                if held >= size:
                    os.ftruncate(fd, size)
                    os.lseek(fd, size, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        if held < size:
            os.close(fd)
            raise NotFound("resumable blob", partial.name)
        self._fd: int | None = fd
        self._size = size
        self._new = size == 0
        self._written = self._flushed = self._dropped = size

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        super().write(data)
        self._size += memoryview(data).nbytes

    def sync(self) -> None:
        if self._fd is None or self._state != "open":
            raise RuntimeError(f"sync() on a blob writer that is {self._state}")
        with disk_errors("store a blob durably"):
            os.fsync(self._fd)
            if self._new:
                fsync_dir(self._partial.parent)  # the partial's own directory entry, once
                self._new = False

    def read(self, *, offset: int, length: int) -> bytes:
        if self._fd is None:
            raise RuntimeError(f"read() on a blob writer that is {self._state}")
        with disk_errors("read a blob"):
            return pread_fully(self._fd, offset=offset, length=length)

    def close(self) -> None:
        if self._state == "open" and self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
            self._state = "closed"


def pread_fully(fd: int, *, offset: int, length: int) -> bytes:
    data = os.pread(fd, length, offset)
    if 0 < len(data) < length:
        # pread may stop early (signals, huge reads); only the blob's end is a short read.
        parts = [data]
        got = len(data)
        while got < length and (more := os.pread(fd, length - got, offset + got)):
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


def preadv_fully(fd: int, *, offset: int, into: memoryview) -> int:
    """Read into `into` until it is full or the file ends; return the bytes read."""
    got = 0
    while got < len(into) and (n := os.preadv(fd, [into[got:]], offset + got)):
        got += n
    return got
