"""A blob store in an object store (S3 or Azure Blob) through obstore.

Layout under the configured prefix:
- ``blobs/<key>``: completed blobs. A writer streams them as a multipart upload (S3) or staged blocks
  (Azure) of `part_size` bytes; nothing is visible under the key until the final commit, and an
  aborted writer aborts the upload, so a crash leaves no half blob behind.
- ``partials/<key>.<random>``: one small marker per upload in progress, holding the time of its last
  write. purge_partials removes the markers of uploads that stopped writing long ago and reports
  them; the parts such an upload left on the server are removed by the store itself (an S3 lifecycle
  rule AbortIncompleteMultipartUpload, Azure's garbage collection of uncommitted blocks after 7 days;
  see docs/ops/object-storage.md), because obstore does not expose upload ids.
- ``resumable/<key>/<offset>``: the pieces of a resumable (tus) blob (objects_resumable.py).
- ``writers/<writer id>``: the heartbeat of each process that writes resumable blobs; a stale or
  missing one tells another process that the writer is gone and its tus leases can be taken over.

No temporary files and no whole-file buffers: a writer holds at most `part_size` times
`concurrency` bytes, a read holds the range it was asked for.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError

from strongroom.errors import Conflict, InputError, NotFound, Unavailable
from strongroom.storage.blob_backends.objects_resumable import ObjectResumableWriter
from strongroom.storage.blobs import BlobInfo, BlobStore, BlobWriter, ResumableBlobWriter

if TYPE_CHECKING:
    from obstore import WritableFile
    from obstore.store import ObjectStore

log = logging.getLogger(__name__)

BLOBS: Final = "blobs/"
PARTIALS: Final = "partials/"
RESUMABLE: Final = "resumable/"
WRITERS: Final = "writers/"
HEARTBEAT_SECONDS: Final = 10.0
"""A process that writes resumable blobs rewrites its `writers/<id>` object this often while it lives."""
GONE_AFTER_SECONDS: Final = 60.0
"""A writer whose heartbeat is older than this has stopped (crashed, killed): its tus leases are taken
over at once. Six missed beats, and well past the clock skew `strongroom doctor` tolerates."""
MARKER_TOUCH_SECONDS: Final = 60.0
"""A live writer rewrites its marker at most this often, so that a long upload never looks abandoned."""
_KEY = re.compile(r"[0-9a-f]{16,64}")
MISSING: Final = (FileNotFoundError, NotFoundError)
"""What obstore raises for a missing object (it maps NotFound onto the builtin)."""


def _check_key(key: str) -> str:
    if _KEY.fullmatch(key) is None:
        raise InputError("A blob key is 16 to 64 lowercase hex characters.", field="key")
    return key


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """The seam where object store failures become answers: anything the store says other than
    "not found" or "exists" (network down, credentials refused, throttling past the retries) is
    Unavailable (503); the caller aborts its writer."""
    try:
        yield
    except (*MISSING, FileExistsError, AlreadyExistsError):
        raise
    except BaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unavailable(f"The object store could not {what}: {first_line}") from exc


class ObjectBlobWriter(BlobWriter):
    """Streams one blob as a multipart/block upload; complete() commits it, abort() aborts it."""

    def __init__(self, store: ObjectBlobStore, *, path: str, marker: str) -> None:
        self._store = store
        self._marker = marker
        self._touched = 0.0
        self._touch()
        with store_errors("start a blob"):
            self._file: WritableFile | None = obstore.open_writer(
                store.objects,
                path,
                buffer_size=store.part_size,
                max_concurrency=store.concurrency,
            )
        self._state = "open"  # open -> done | aborted

    def _touch(self) -> None:
        now = time.time()
        if now - self._touched < MARKER_TOUCH_SECONDS:
            return
        with store_errors("record an upload in progress"):
            obstore.put(self._store.objects, self._marker, repr(now).encode("ascii"))
        self._touched = now

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._file is None or self._state != "open":
            raise RuntimeError(f"write() on a blob writer that is {self._state}")
        view = memoryview(data).cast("B")
        if not view:
            return
        with store_errors("write a blob"):
            # Copied: obstore keeps the buffer it is given until the part is sent, and callers
            # reuse theirs (SealedBlobWriter seals every segment into the same one).
            self._file.write(bytes(view))
        self._touch()

    def complete(self) -> None:
        if self._file is None or self._state != "open":
            raise RuntimeError(f"complete() on a blob writer that is {self._state}")
        file, self._file = self._file, None
        try:
            with store_errors("store a blob durably"):
                file.close()  # uploads the last part and commits: the blob appears whole or not at all
        except BaseException:
            self._state = "aborted"
            self._store.forget_marker(self._marker)
            raise
        self._state = "done"
        self._store.forget_marker(self._marker)

    def abort(self) -> None:
        if self._state in ("done", "aborted"):
            return
        self._state = "aborted"
        file, self._file = self._file, None
        if file is not None:
            # Leaving the writer's context with an exception aborts the multipart/block upload.
            # What the abort could not remove, the store's own clean-up (lifecycle rule) does.
            with contextlib.suppress(BaseError, OSError):
                file.__exit__(RuntimeError, RuntimeError("aborted"), None)
        self._store.forget_marker(self._marker)


class ObjectBlobStore(BlobStore):
    """BlobStore in an obstore ObjectStore (S3Store, AzureStore). Thread-safe: obstore is."""

    def __init__(
        self,
        objects: ObjectStore,
        *,
        prefix: str = "",
        part_size: int = 8 << 20,
        concurrency: int = 4,
        describe: str = "object store",
    ) -> None:
        self.objects = objects
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self.concurrency = concurrency
        self.describe = describe
        self._writer_id = secrets.token_hex(16)
        self._heartbeat: threading.Thread | None = None
        self._stopping = threading.Event()
        self._heartbeat_lock = threading.Lock()

    def _blob(self, key: str) -> str:
        return f"{self.prefix}{BLOBS}{_check_key(key)}"

    def _resumable(self, key: str) -> str:
        return f"{self.prefix}{RESUMABLE}{_check_key(key)}/"

    @property
    def writer_id(self) -> str:
        # The heartbeat starts on first use, so a store only read from (the CLI) leaves none behind.
        with self._heartbeat_lock:
            if self._heartbeat is None and not self._stopping.is_set():
                self._beat()  # before any lease names this writer
                self._heartbeat = threading.Thread(
                    target=self._beat_until_closed, name="strongroom-writer-heartbeat", daemon=True
                )
                self._heartbeat.start()
        return self._writer_id

    def _beat(self) -> None:
        with store_errors("record this process as a writer"):
            obstore.put(self.objects, self._writer_path(self._writer_id), repr(time.time()).encode("ascii"))

    def _beat_until_closed(self) -> None:
        while not self._stopping.wait(HEARTBEAT_SECONDS):
            try:
                self._beat()
            except Unavailable:
                log.warning("the object store missed this process's writer heartbeat; retrying")

    def _writer_path(self, writer_id: str) -> str:
        return f"{self.prefix}{WRITERS}{writer_id}"

    def writer_gone(self, writer_id: str) -> bool:
        """Gone when its heartbeat object is missing (closed) or older than GONE_AFTER_SECONDS (an
        object store keeps no hold for a process's lifetime, unlike a local lock: the beat stands in)."""
        if writer_id == self._writer_id:
            return self._stopping.is_set()
        if _KEY.fullmatch(writer_id) is None:
            return False  # not a name this store gave out: it cannot tell
        try:
            with store_errors("check a writer's heartbeat"):
                body = bytes(obstore.get(self.objects, self._writer_path(writer_id)).bytes())
        except MISSING:
            return True
        except Unavailable:
            return False  # cannot tell: the lease holds until it expires
        try:
            last = float(body.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return False
        return time.time() - last > GONE_AFTER_SECONDS

    def close(self) -> None:
        """Stop the heartbeat and remove it: leases this process held can be taken over at once."""
        with self._heartbeat_lock:
            self._stopping.set()
            thread, self._heartbeat = self._heartbeat, None
        if thread is not None:
            thread.join(timeout=HEARTBEAT_SECONDS)
            with contextlib.suppress(*MISSING, BaseError):
                obstore.delete(self.objects, self._writer_path(self._writer_id))

    def create(self, key: str) -> BlobWriter:
        path = self._blob(key)
        if self.exists(key):
            raise Conflict("A blob with this key already exists.", key=key)
        marker = f"{self.prefix}{PARTIALS}{key}.{secrets.token_hex(8)}"
        return ObjectBlobWriter(self, path=path, marker=marker)

    def forget_marker(self, marker: str) -> None:
        try:
            with store_errors("finish recording an upload"):
                obstore.delete(self.objects, marker)
        except (*MISSING, Unavailable):
            pass  # a marker left behind is removed by purge_partials; it holds no data

    def read(self, key: str, *, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise InputError("A blob read needs a non-negative offset and length.")
        return bytes(self._get_range(key, offset=offset, length=length))

    def read_into(self, key: str, *, offset: int, into: bytearray) -> int:
        if offset < 0:
            raise InputError("A blob read needs a non-negative offset and length.")
        data = self._get_range(key, offset=offset, length=len(into))
        n = len(data)
        into[:n] = data
        return n

    def _get_range(self, key: str, *, offset: int, length: int) -> memoryview:
        path = self._blob(key)
        if length == 0:
            if not self.exists(key):
                raise NotFound("blob", key)
            return memoryview(b"")
        try:
            with store_errors("read a blob"):
                return memoryview(obstore.get_range(self.objects, path, start=offset, length=length))
        except MISSING:
            raise NotFound("blob", key) from None
        except Unavailable:
            # A range that starts at or past the end is refused by the store; a read answers b"" there.
            if offset >= self.size(key):
                return memoryview(b"")
            raise

    def size(self, key: str) -> int:
        try:
            with store_errors("look up a blob"):
                return int(obstore.head(self.objects, self._blob(key))["size"])
        except MISSING:
            raise NotFound("blob", key) from None

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        path = self._blob(key)
        try:
            with store_errors("delete a blob"):
                obstore.delete(self.objects, path)
        except MISSING:
            return

    def list_blobs(self) -> Iterator[BlobInfo]:
        base = f"{self.prefix}{BLOBS}"
        with store_errors("list blobs"):
            for batch in obstore.list(self.objects, prefix=base):
                for meta in batch:
                    key = meta["path"][len(base) :]
                    if _KEY.fullmatch(key) is None:
                        continue
                    yield BlobInfo(
                        key=key, size=int(meta["size"]), modified_at=meta["last_modified"].astimezone(UTC)
                    )

    def resume(self, key: str, *, size: int) -> ResumableBlobWriter:
        if size < 0:
            raise InputError("A resumable blob size cannot be negative.")
        if self.exists(key):
            raise Conflict("A blob with this key already exists.", key=key)
        return ObjectResumableWriter.open(
            self, key=key, pieces=self._resumable(key), final=self._blob(key), size=size
        )

    def discard_resumable(self, key: str) -> None:
        self.delete_all(self._resumable(key))

    def delete_all(self, prefix: str) -> None:
        with store_errors("remove a resumable blob"):
            paths = [m["path"] for batch in obstore.list(self.objects, prefix=prefix) for m in batch]
            if paths:
                obstore.delete(self.objects, paths)

    def purge_partials(self, *, older_than: datetime) -> int:
        cutoff = older_than.timestamp()
        removed = 0
        for path, last_write in self._markers():
            if last_write < cutoff:
                self.forget_marker(path)
                removed += 1
        return removed

    def _markers(self) -> Iterator[tuple[str, float]]:
        with store_errors("list uploads in progress"):
            paths = [
                m["path"]
                for batch in obstore.list(self.objects, prefix=f"{self.prefix}{PARTIALS}")
                for m in batch
            ]
            for path in paths:
                try:
                    body = bytes(obstore.get(self.objects, path).bytes())
                except MISSING:
                    continue  # its writer finished meanwhile
                try:
                    yield path, float(body.decode("ascii"))
                except (UnicodeDecodeError, ValueError):
                    yield path, 0.0  # not one this store wrote whole: as old as can be

    def rewrite_markers(self, change: Callable[[float], float]) -> None:
        """Tests: move every marker's last-write time (as a long pause would)."""
        for path, last_write in list(self._markers()):
            obstore.put(self.objects, path, repr(change(last_write)).encode("ascii"))

    def probe(self) -> None:
        """Raise Unavailable unless the store answers (a listing of one page)."""
        with store_errors("be reached"):
            next(iter(obstore.list(self.objects, prefix=f"{self.prefix}{BLOBS}", chunk_size=1)), None)
