"""A blob store in a local directory.

Layout: completed blobs at ``root/ab/cd/<key>`` (ab and cd are the key's first hex pairs, so
no directory grows past 65536 entries); partial writes at ``root/.partial/<key>.<random>``,
moved into place by complete() after fsync, then the destination directory is fsynced. A writer
keeps an flock on its partial from creation to rename, so purge_partials (the orphan collector)
removes only partials whose writer is gone, whatever cut-off it is given.
Resumable partials (tus uploads) live at ``root/.resumable/<key>``, apart from the partials that
purge_partials sweeps: an upload paused for a day is not an abandoned crash leftover.

Writer liveness: a process that writes resumable blobs holds an exclusive flock on
``root/.writers/<writer id>`` for as long as it lives. The kernel drops that lock when the process
ends, however it ends, so another process (a restarted server, or one beside it sharing the
directory) that can take the lock knows the writer is gone and may take over its leases at once.
"""

import contextlib
import errno
import fcntl
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from strongroom.errors import Conflict, InputError, NotFound, StorageFull, Unavailable
from strongroom.storage.blobs import BlobInfo, BlobStore, BlobWriter, ResumableBlobWriter

PARTIAL_DIR: Final = ".partial"
RESUMABLE_DIR: Final = ".resumable"
WRITERS_DIR: Final = ".writers"
NASCENT_PREFIX: Final = ".new-"
NASCENT_MAX_AGE_SECONDS: Final = 3600
BACKUP_HOLD: Final = ".backup-hold"
"""While this file is in the root (and fresh), no blob is deleted: `strongroom backup` copies blobs after
its database snapshot, and a blob that snapshot refers to must still be there when its turn comes.
Deletions skipped meanwhile leave orphans that `strongroom gc` and the worker remove later."""
BACKUP_HOLD_STALE_SECONDS: Final = 24 * 3600
"""A hold older than this was left by a backup that died: deletions resume on their own."""
_KEY = re.compile(r"[0-9a-f]{16,64}")
_DISK_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
_OPEN_FLAGS: Final = os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


@contextmanager
def _disk_errors(what: str) -> Iterator[None]:
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


def _check_key(key: str) -> str:
    if _KEY.fullmatch(key) is None:
        raise InputError("A blob key is 16 to 64 lowercase hex characters.", field="key")
    return key


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Directories this process has seen made durable; each costs its fsyncs once per process.
_DURABLE_DIRS: set[Path] = set()
_DURABLE_DIRS_LOCK = threading.Lock()


def _ensure_dir(path: Path) -> None:
    """Create `path` (and its parents) durably before a blob is renamed into it: the new directory
    itself and its entry in the parent are fsynced, or the blob could vanish with it after a crash.

    A directory found already there may have been made a moment ago by another writer that has not
    fsynced it yet, so the first sight of one in this process fsyncs it too.
    """
    if path in _DURABLE_DIRS:
        return
    if not path.is_dir():
        _ensure_dir(path.parent)
        with contextlib.suppress(FileExistsError):  # another writer made it: fsynced below anyway
            path.mkdir()
    _fsync_dir(path)
    _fsync_dir(path.parent)
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
        with _disk_errors("start a blob"):
            fd = os.open(nascent, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                nascent.rename(partial)
            except BaseException:
                os.close(fd)
                nascent.unlink(missing_ok=True)
                raise
        self._fd: int | None = fd
        self._state = "open"  # open -> completing -> done | aborted

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fd is None or self._state != "open":
            raise RuntimeError(f"write() on a blob writer that is {self._state}")
        view = memoryview(data).cast("B")
        with _disk_errors("write a blob"):
            while view:
                view = view[os.write(self._fd, view) :]

    def complete(self) -> None:
        if self._fd is None or self._state != "open":
            raise RuntimeError(f"complete() on a blob writer that is {self._state}")
        self._state = "completing"
        fd, self._fd = self._fd, None
        with _disk_errors("store a blob durably"):
            try:
                os.fsync(fd)
                _ensure_dir(self._final.parent)
                # Renamed while still open and locked, so purge_partials never takes it for abandoned.
                self._partial.replace(self._final)
                _fsync_dir(self._final.parent)
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
        flags = os.O_RDWR | (os.O_CREAT if size == 0 else 0) | _OPEN_FLAGS
        try:
            fd = os.open(partial, flags, 0o600)
        except FileNotFoundError:
            raise NotFound("resumable blob", partial.name) from None
        except OSError as exc:
            raise Unavailable(f"The blob store could not resume a blob: {exc.strerror or exc}.") from exc
        try:
            with _disk_errors("resume a blob"):
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

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        super().write(data)
        self._size += memoryview(data).nbytes

    def sync(self) -> None:
        if self._fd is None or self._state != "open":
            raise RuntimeError(f"sync() on a blob writer that is {self._state}")
        with _disk_errors("store a blob durably"):
            os.fsync(self._fd)
            if self._new:
                _fsync_dir(self._partial.parent)  # the partial's own directory entry, once
                self._new = False

    def read(self, *, offset: int, length: int) -> bytes:
        if self._fd is None:
            raise RuntimeError(f"read() on a blob writer that is {self._state}")
        with _disk_errors("read a blob"):
            return _pread_fully(self._fd, offset=offset, length=length)

    def close(self) -> None:
        if self._state == "open" and self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
            self._state = "closed"


class LocalBlobStore(BlobStore):
    """BlobStore in a local directory. Thread-safe: every call opens its own file descriptor."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._partials = root / PARTIAL_DIR
        self._resumables = root / RESUMABLE_DIR
        self._writers = root / WRITERS_DIR
        self._writer_id = secrets.token_hex(16)
        self._writer_fd: int | None = None
        self._writer_lock = threading.Lock()
        try:
            _ensure_dir(root.absolute())
            _ensure_dir(self._partials.absolute())
            _ensure_dir(self._resumables.absolute())
            _ensure_dir(self._writers.absolute())
        except OSError as exc:
            raise Unavailable(f"The blob directory {root} cannot be created: {exc.strerror}.") from exc

    @property
    def writer_id(self) -> str:
        # Taken on first use, so that a store only read from (the CLI) leaves no lock file behind.
        with self._writer_lock:
            if self._writer_fd is None:
                path = self._writers / self._writer_id
                with _disk_errors("register this process as a writer"):
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600)
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._writer_fd = fd
        return self._writer_id

    def writer_gone(self, writer_id: str) -> bool:
        if writer_id == self._writer_id:
            return self._writer_fd is None
        if _KEY.fullmatch(writer_id) is None:
            return False  # not a name this store gave out: it cannot tell
        path = self._writers / writer_id
        try:
            fd = os.open(path, os.O_RDWR | _OPEN_FLAGS)
        except FileNotFoundError:
            return True  # removed by whoever found it gone first
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its process still holds it: alive
        else:
            path.unlink(missing_ok=True)
            return True
        finally:
            os.close(fd)

    def close(self) -> None:
        """Release this process's writer hold (what the kernel does anyway when the process ends)."""
        with self._writer_lock:
            fd, self._writer_fd = self._writer_fd, None
        if fd is not None:
            (self._writers / self._writer_id).unlink(missing_ok=True)
            os.close(fd)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key[0:2] / key[2:4] / key

    def create(self, key: str) -> BlobWriter:
        final = self._path(key)
        if final.exists():
            raise Conflict("A blob with this key already exists.", key=key)
        partial = self._partials / f"{key}.{secrets.token_hex(8)}"
        return LocalBlobWriter(partial=partial, final=final)

    def resume(self, key: str, *, size: int) -> ResumableBlobWriter:
        final = self._path(key)
        if final.exists():
            raise Conflict("A blob with this key already exists.", key=key)
        return LocalResumableWriter(partial=self._resumables / key, final=final, size=size)

    def discard_resumable(self, key: str) -> None:
        path = self._resumables / _check_key(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def read(self, key: str, *, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise InputError("A blob read needs a non-negative offset and length.")
        fd = self._open(key)
        try:
            return _pread_fully(fd, offset=offset, length=length)
        finally:
            os.close(fd)

    def read_into(self, key: str, *, offset: int, into: bytearray) -> int:
        if offset < 0:
            raise InputError("A blob read needs a non-negative offset and length.")
        fd = self._open(key)
        try:
            return _preadv_fully(fd, offset=offset, into=memoryview(into))
        finally:
            os.close(fd)

    def _open(self, key: str) -> int:
        try:
            return os.open(self._path(key), os.O_RDONLY | _OPEN_FLAGS)
        except FileNotFoundError:
            raise NotFound("blob", key) from None

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound("blob", key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        if deletions_held(self.root):
            return
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def list_blobs(self) -> Iterator[BlobInfo]:
        for first in _sorted_dirs(self.root):
            for second in _sorted_dirs(first):
                for entry in sorted(os.scandir(second), key=lambda e: e.name):
                    if not _valid_in(entry.name, first.name + second.name) or not entry.is_file():
                        continue
                    st = entry.stat()
                    yield BlobInfo(
                        key=entry.name,
                        size=st.st_size,
                        modified_at=datetime.fromtimestamp(st.st_mtime, UTC),
                    )

    def purge_partials(self, *, older_than: datetime) -> int:
        cutoff = older_than.timestamp()
        removed = 0
        for entry in os.scandir(self._partials):
            try:
                # mtime moves with every write, so a live upload never looks abandoned.
                if not entry.is_file() or entry.stat().st_mtime >= cutoff:
                    continue
                if entry.name.startswith(NASCENT_PREFIX):
                    # Lives for a moment while a writer starts; only a crash at that moment leaves one.
                    if entry.stat().st_mtime < time.time() - NASCENT_MAX_AGE_SECONDS:
                        Path(entry.path).unlink()
                        removed += 1
                elif _remove_if_unlocked(Path(entry.path)):
                    removed += 1
            except FileNotFoundError:
                continue  # its writer completed or aborted meanwhile
        return removed


def _remove_if_unlocked(path: Path) -> bool:
    """Unlink a partial no live writer holds (its writer keeps it flocked): a crashed writer's."""
    try:
        fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live writer, however long it has been idle
    else:
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def deletions_held(root: Path) -> bool:
    try:
        modified = (root / BACKUP_HOLD).stat().st_mtime
    except FileNotFoundError:
        return False
    return datetime.now(UTC).timestamp() - modified < BACKUP_HOLD_STALE_SECONDS


@contextmanager
def deletions_held_during(root: Path) -> Iterator[Path]:
    """Hold deletions in the store at `root` while the block runs; touch the yielded file to stay fresh."""
    hold = root / BACKUP_HOLD
    hold.write_text(f"backup started {datetime.now(UTC).isoformat()} by pid {os.getpid()}\n")
    _fsync_dir(root)
    try:
        yield hold
    finally:
        hold.unlink(missing_ok=True)


def _pread_fully(fd: int, *, offset: int, length: int) -> bytes:
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


def _valid_in(name: str, prefix: str) -> bool:
    return _KEY.fullmatch(name) is not None and name.startswith(prefix)


def _sorted_dirs(path: Path) -> list[Path]:
    hexpair = re.compile(r"[0-9a-f]{2}")
    return sorted(
        Path(e.path) for e in os.scandir(path) if hexpair.fullmatch(e.name) is not None and e.is_dir()
    )


def _preadv_fully(fd: int, *, offset: int, into: memoryview) -> int:
    """Read into `into` until it is full or the file ends; return the bytes read."""
    got = 0
    while got < len(into) and (n := os.preadv(fd, [into[got:]], offset + got)):
        got += n
    return got
