"""Key files on disk, shared by the server, the worker and the CLI on one host.

Each change writes a whole new generation of the file and renames it into place, so a reader sees
the old generation or the new one, never a mix. Writers take an exclusive lock on a sibling lock
file and re-read the file under it, so two processes (say `strongroom keys rotate` and a server
starting up) never overwrite each other's change, and two processes starting on an empty data dir
create one file, not two. Readers need no lock: they compare the file's stamp with the one they
loaded and reload when it changed.
"""

import fcntl
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from strongroom.storage.keys import KeyProviderUnavailable, KeyUnavailable

S = TypeVar("S")


@dataclass(frozen=True)
class FileStamp:
    """What identifies one generation of a file: each rename brings a new inode."""

    device: int
    inode: int
    modified_ns: int
    size: int


def stamp_of(path: Path) -> FileStamp:
    """The stamp of the file now at `path`. Raises KeyProviderUnavailable if it is gone or unreadable."""
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyProviderUnavailable(f"The key file {path} cannot be read: {exc.strerror}.") from exc
    return FileStamp(st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def read_if_present(path: Path) -> tuple[bytes, FileStamp] | None:
    """The file's bytes and the stamp of that generation, or None if there is no file."""
    try:
        with path.open("rb") as handle:
            st = os.fstat(handle.fileno())
            return handle.read(), FileStamp(st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyProviderUnavailable(f"The key file {path} cannot be read: {exc.strerror}.") from exc


@contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive lock that every writer of `path` takes, across processes and threads.

    flock locks belong to an open file description, so two threads of one process that each open
    the lock file exclude each other as two processes do.
    """
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise KeyProviderUnavailable(
            f"The key file lock {lock_path} cannot be opened: {exc.strerror}."
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> FileStamp:
    """Replace `path` so that a crash leaves either the old file or the new one, never a mix.

    The caller SHALL hold writer_lock(path). The temp file is created 0600 (not chmod-ed later), so
    the keys are never readable by others. Returns the new generation's stamp.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
    except OSError as exc:
        raise KeyProviderUnavailable(f"The key file {path} cannot be written: {exc.strerror}.") from exc
    return stamp_of(path)


class KeyFile(Generic[S]):
    """One key file as a process sees it: the generation loaded (state `S`, parsed and serialised by
    the caller), reloaded when the file's stamp changes, created once, changed whole under the writer
    lock. Thread-safe; readers of `fresh()` need no lock while the file is unchanged."""

    def __init__(
        self, path: Path, *, parse: Callable[[bytes, Path], S], serialise: Callable[[S], bytes], what: str
    ) -> None:
        self.path = path
        self._parse = parse
        self._serialise = serialise
        self._what = what
        self._lock = threading.Lock()
        self._loaded: tuple[S, FileStamp] | None = None

    def _read(self) -> tuple[S, FileStamp] | None:
        found = read_if_present(self.path)
        if found is None:
            return None
        raw, stamp = found
        return self._parse(raw, self.path), stamp

    def open(self, *, create: Callable[[], S] | None) -> S:
        """Load the file; if it is missing, make it with `create` (under the writer lock, after looking
        again, so processes starting together make one). Raises KeyUnavailable if it is missing and
        `create` is None, or unreadable or malformed."""
        loaded = self._read()
        if loaded is None:
            if create is None:
                raise KeyUnavailable(f"The {self._what} {self.path} does not exist.")
            with writer_lock(self.path):
                loaded = self._read()
                if loaded is None:
                    state = create()
                    loaded = state, write_atomically(self.path, self._serialise(state))
        self._loaded = loaded
        return loaded[0]

    def _gone(self) -> KeyProviderUnavailable:
        return KeyProviderUnavailable(
            f"The {self._what} {self.path} has disappeared; restore it from backup."
        )

    def fresh(self) -> S:
        """The generation on disk now: the one loaded if the file has not changed, else a reload."""
        loaded = self._loaded
        if loaded is not None and stamp_of(self.path) == loaded[1]:
            return loaded[0]
        with self._lock:
            reloaded = self._read()
            if reloaded is None:
                raise self._gone()
            self._loaded = reloaded
            return reloaded[0]

    def change(self, make: Callable[[S], S]) -> S:
        """Apply `make` to the generation on disk, under the writer lock, and write the result.
        Disk first: a key that wrapped or signed anything must never exist only in memory."""
        with self._lock, writer_lock(self.path):
            on_disk = self._read()
            if on_disk is None:
                raise self._gone()
            state = make(on_disk[0])
            self._loaded = state, write_atomically(self.path, self._serialise(state))
            return state
