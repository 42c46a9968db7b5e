"""Pending blobs: a blob store that records every new blob's key before its first byte is written.

Why: the orphan collector deletes blobs that no record names. A blob is durable before the
transaction that records its version commits (ARCHITECTURE: bytes first, then the record), so
between the two it is unnamed; with a short grace the collector took such blobs for orphans and the
commit then acknowledged an upload whose bytes were gone. A PendingBlob row, committed before the
blob exists, closes that window whatever the grace: the collector lists the store first and reads
the records afterwards, so any blob it lists has its pending row (or its version) visible to it.
The collector removes the row once a record names the blob (maintenance.collect_orphan_blobs).

Assembled at the composition root (runtime.py), so every door and job that writes a blob gets it.
"""

import mmap
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from strongroom.clock import Clock
from strongroom.content.models import PendingBlob
from strongroom.db.session import transaction
from strongroom.storage.blobs import BlobInfo, BlobStore, BlobWriter, ResumableBlobWriter


class PendingBlobRecorder(BlobStore):
    """A BlobStore that commits a PendingBlob row in create() and otherwise passes through.

    create() SHALL NOT be called inside an open transaction (it commits one of its own).
    """

    def __init__(self, store: BlobStore, *, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.inner = store
        self._sessions = sessions
        self._clock = clock

    def create(self, key: str) -> BlobWriter:
        with transaction(self._sessions) as session:
            session.merge(PendingBlob(blob_key=key, created_at=self._clock.now()))
        return self.inner.create(key)

    def read(self, key: str, *, offset: int, length: int) -> bytes:
        return self.inner.read(key, offset=offset, length=length)

    def read_into(self, key: str, *, offset: int, into: bytearray) -> int:
        return self.inner.read_into(key, offset=offset, into=into)

    def mapped(self, key: str) -> mmap.mmap | None:
        return self.inner.mapped(key)

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list_blobs(self) -> Iterator[BlobInfo]:
        return self.inner.list_blobs()

    def resume(self, key: str, *, size: int) -> ResumableBlobWriter:
        # A resumable blob is named by its TusUpload row from the start: nothing to record.
        return self.inner.resume(key, size=size)

    def discard_resumable(self, key: str) -> None:
        self.inner.discard_resumable(key)

    @property
    def writer_id(self) -> str:
        return self.inner.writer_id

    def writer_gone(self, writer_id: str) -> bool:
        return self.inner.writer_gone(writer_id)

    def purge_partials(self, *, older_than: datetime) -> int:
        return self.inner.purge_partials(older_than=older_than)
