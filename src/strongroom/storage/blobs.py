"""Blob stores: flat, opaque byte storage addressed by random keys.

A blob store knows nothing of encryption or files; it holds sealed blobs (sealed_stream) under
keys that content/ records. Implementations live in blob_backends/ and all pass
tests/contracts/test_blob_store_contract.py.
"""

import mmap
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class BlobWriter(Protocol):
    """One blob being written. The caller SHALL end every writer with complete() or abort()."""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append `data`. A BlobWriter SHALL NOT keep a reference to `data` after returning."""
        ...

    def complete(self) -> None:
        """Finish the blob.

        A BlobWriter SHALL make the blob durable (data and directory entry, or the backend's
        equivalent) and visible under its key before returning. After complete() returns,
        write() and complete() SHALL NOT be called again.
        """
        ...

    def abort(self) -> None:
        """Give the blob up. A BlobWriter SHALL remove the partial data.

        abort() SHALL be safe to call after any failure, including one inside complete(), and
        SHALL be idempotent. After a complete() that returned, abort() does nothing.
        """
        ...


class ResumableBlobWriter(BlobWriter, Protocol):
    """A blob written over many sessions, possibly by many processes (tus uploads).

    Its bytes live in a resumable partial under the blob's key until complete(). Besides the
    BlobWriter contract (complete() makes it a visible blob; abort() removes the partial):
    """

    @property
    def size(self) -> int:
        """Bytes held so far (what resume() kept plus what write() appended)."""
        ...

    def sync(self) -> None:
        """A ResumableBlobWriter SHALL make every byte written so far durable before returning,
        so that resume() in any process after a crash finds at least these bytes."""
        ...

    def read(self, *, offset: int, length: int) -> bytes:
        """Read back bytes already written (to re-derive state in a process that did not write them).

        SHALL return fewer than `length` bytes only at the end of what was written.
        """
        ...

    def close(self) -> None:
        """Release the writer without completing or removing anything; idempotent.

        The partial SHALL stay for a later resume(). Bytes not sync()ed MAY be lost.
        """
        ...


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified_at: datetime  # timezone-aware UTC


class BlobStore(Protocol):
    """Where blobs live. Implementations SHALL be safe to use from many threads at once.

    Keys are lowercase hex (see new_blob_key); a BlobStore SHALL reject any other key with
    InputError, so a key can never name a path outside the store.
    """

    def create(self, key: str) -> BlobWriter:
        """Start writing a blob under `key`.

        A partial blob SHALL NOT be visible through read, size, exists or list_blobs until its
        writer's complete() returns. Raises Conflict if a completed blob already has this key.
        """
        ...

    def read(self, key: str, *, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset`.

        A BlobStore SHALL return fewer than `length` bytes only when the blob ends first, and
        SHALL raise NotFound("blob", key) if the blob does not exist.
        """
        ...

    def read_into(self, key: str, *, offset: int, into: bytearray) -> int:
        """Fill `into` with the bytes from `offset`; return how many were read (as read(): fewer
        only when the blob ends first). Stores that can read into a caller's buffer override this
        to spare the download path a fresh allocation per read."""
        data = self.read(key, offset=offset, length=len(into))
        into[: len(data)] = data
        return len(data)

    def mapped(self, key: str) -> mmap.mmap | None:
        """The whole completed blob mapped read-only, or None where the store cannot map it (the
        caller then reads with read_into). Decrypting from the map spares the download path a copy
        out of the page cache. A store that maps raises NotFound for a missing blob. Only immutable
        blobs may be mapped: a file cut short while mapped would kill the process (SIGBUS) at the
        next touch of the lost pages."""
        del key  # this default cannot map anything
        return None

    def size(self, key: str) -> int:
        """The blob's size in bytes. Raises NotFound."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob. SHALL be idempotent: deleting a missing blob is not an error."""
        ...

    def list_blobs(self) -> Iterator[BlobInfo]:
        """Every completed blob, in no promised order. Partial writes SHALL NOT be listed."""
        ...

    def resume(self, key: str, *, size: int) -> ResumableBlobWriter:
        """Open the resumable partial of `key` to append after its first `size` bytes.

        With size 0 it is created if missing. A BlobStore SHALL discard bytes past `size` (written
        but never acknowledged by the caller), SHALL raise NotFound("resumable blob", key) if the
        partial is missing or holds fewer than `size` bytes, and Conflict if a completed blob has
        this key. A resumable partial SHALL survive process restarts, SHALL NOT be visible through
        read, size, exists or list_blobs, and SHALL NOT be removed by purge_partials: its owner
        ends it with complete(), abort() or discard_resumable(). The caller SHALL NOT resume one
        key from two writers at once.
        """
        ...

    def discard_resumable(self, key: str) -> None:
        """Remove the resumable partial of `key`. SHALL be idempotent."""
        ...

    @property
    def writer_id(self) -> str:
        """This process's name as a writer of resumable blobs, recorded on the leases it takes."""
        ...

    def writer_gone(self, writer_id: str) -> bool:
        """Whether the process named `writer_id` has certainly stopped (crashed, killed, restarted).

        A BlobStore SHALL answer True only when it knows (for example, because the operating system
        released a hold that process kept for its whole life), so that a lease of a dead process can
        be taken over at once while a live one is never written over; False when it cannot tell.
        """
        ...

    def purge_partials(self, *, older_than: datetime) -> int:
        """Remove partial writes last touched before `older_than` (left by crashes); return how many.

        A BlobStore SHALL judge age by the last write, so that a writer still in use survives a
        cut-off well behind now.
        """
        ...


def new_blob_key() -> str:
    """A fresh random blob key: 32 lowercase hex characters (128 bits)."""
    return secrets.token_hex(16)
