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

The writers themselves, and the disk primitives (fsync, durable directories, OS errors as answers), are
in `local_writers`.
"""

import fcntl
import mmap
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

from strongroom.errors import Conflict, InputError, NotFound, Unavailable
from strongroom.storage.blob_backends.local_writers import (
    NASCENT_PREFIX,
    OPEN_FLAGS,
    LocalBlobWriter,
    LocalResumableWriter,
    disk_errors,
    ensure_dir,
    fsync_dir,
    pread_fully,
    preadv_fully,
)
from strongroom.storage.blobs import BlobInfo, BlobStore, BlobWriter, ResumableBlobWriter

PARTIAL_DIR: Final = ".partial"
RESUMABLE_DIR: Final = ".resumable"
WRITERS_DIR: Final = ".writers"
NASCENT_MAX_AGE_SECONDS: Final = 3600
BACKUP_HOLD: Final = ".backup-hold"
"""While this file is in the root (and fresh), no blob is deleted: `strongroom backup` copies blobs after
its database snapshot, and a blob that snapshot refers to must still be there when its turn comes.
Deletions skipped meanwhile leave orphans that `strongroom gc` and the worker remove later."""
BACKUP_HOLD_STALE_SECONDS: Final = 24 * 3600
"""A hold older than this was left by a backup that died: deletions resume on their own."""
_KEY = re.compile(r"[0-9a-f]{16,64}")


def _check_key(key: str) -> str:
    if _KEY.fullmatch(key) is None:
        raise InputError("A blob key is 16 to 64 lowercase hex characters.", field="key")
    return key


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
            ensure_dir(root.absolute())
            ensure_dir(self._partials.absolute())
            ensure_dir(self._resumables.absolute())
            ensure_dir(self._writers.absolute())
        except OSError as exc:
            raise Unavailable(f"The blob directory {root} cannot be created: {exc.strerror}.") from exc

    @property
    def writer_id(self) -> str:
        # Taken on first use, so that a store only read from (the CLI) leaves no lock file behind.
        with self._writer_lock:
            if self._writer_fd is None:
                path = self._writers / self._writer_id
                with disk_errors("register this process as a writer"):
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | OPEN_FLAGS, 0o600)
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
            fd = os.open(path, os.O_RDWR | OPEN_FLAGS)
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
        fsync_dir(path.parent)

    def read(self, key: str, *, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise InputError("A blob read needs a non-negative offset and length.")
        fd = self._open(key)
        try:
            return pread_fully(fd, offset=offset, length=length)
        finally:
            os.close(fd)

    def read_into(self, key: str, *, offset: int, into: bytearray) -> int:
        if offset < 0:
            raise InputError("A blob read needs a non-negative offset and length.")
        fd = self._open(key)
        try:
            return preadv_fully(fd, offset=offset, into=memoryview(into))
        finally:
            os.close(fd)

    def mapped(self, key: str) -> mmap.mmap | None:
        # Completed blobs are never written again (a new version is a new blob), so a map cannot
        # be cut short under a reader except by tampering with the disk itself.
        fd = self._open(key)
        try:
            size = os.fstat(fd).st_size
            return mmap.mmap(fd, size, prot=mmap.PROT_READ) if size else None
        except OSError:
            return None  # a file system that cannot map: read_into works everywhere
        finally:
            os.close(fd)

    def _open(self, key: str) -> int:
        try:
            return os.open(self._path(key), os.O_RDONLY | OPEN_FLAGS)
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
        fsync_dir(path.parent)

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
        fd = os.open(path, os.O_RDONLY | OPEN_FLAGS)
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
    fsync_dir(root)
    try:
        yield hold
    finally:
        hold.unlink(missing_ok=True)


def _valid_in(name: str, prefix: str) -> bool:
    return _KEY.fullmatch(name) is not None and name.startswith(prefix)


def _sorted_dirs(path: Path) -> list[Path]:
    hexpair = re.compile(r"[0-9a-f]{2}")
    return sorted(
        Path(e.path) for e in os.scandir(path) if hexpair.fullmatch(e.name) is not None and e.is_dir()
    )
