"""Resumable (tus) blobs in an object store: the bytes held so far as pieces ``<key>/<offset>``.

An object cannot be appended to, so every sync() (each acknowledged tus PATCH) stores what came
since as one more piece, and write() stores one whenever a part's worth has gathered: the writer
holds at most one part in memory. resume(size) drops the pieces past `size` (bytes never
acknowledged) and cuts the one that straddles it. complete() streams the pieces in order into one
multipart upload of the final blob and then removes them; any process can do that, which is what
lets an upload started on one app process finish on another.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import obstore
from obstore.exceptions import BaseError

from strongroom.errors import NotFound
from strongroom.storage.blobs import ResumableBlobWriter

if TYPE_CHECKING:
    from obstore import WritableFile

    from strongroom.storage.blob_backends.objects import ObjectBlobStore

_OFFSET_DIGITS = 20


class ObjectResumableWriter(ResumableBlobWriter):
    def __init__(
        self, store: ObjectBlobStore, *, key: str, pieces: str, final: str, held: list[tuple[int, int]]
    ) -> None:
        self._store = store
        self._key = key
        self._pieces = pieces
        self._final = final
        self._held = held  # (offset, length) of each stored piece, in order
        self._buffer = bytearray()
        self._stored = sum(length for _, length in held)  # bytes in pieces; the rest is in _buffer
        self._state = "open"  # open -> done | aborted | closed

    @classmethod
    def open(
        cls, store: ObjectBlobStore, *, key: str, pieces: str, final: str, size: int
    ) -> ObjectResumableWriter:
        from strongroom.storage.blob_backends.objects import store_errors

        with store_errors("resume a blob"):
            found = sorted(
                (int(m["path"][len(pieces) :]), int(m["size"]))
                for batch in obstore.list(store.objects, prefix=pieces)
                for m in batch
                if m["path"][len(pieces) :].isdigit()
            )
            held_bytes = found[-1][0] + found[-1][1] if found else 0
            if (size > 0 and not found) or held_bytes < size:
                raise NotFound("resumable blob", key)
            kept: list[tuple[int, int]] = []
            for offset, length in found:
                path = _piece(pieces, offset)
                if offset >= size or length == 0:
                    obstore.delete(store.objects, path)  # never acknowledged
                elif offset + length > size:
                    # Straddles the acknowledged end: keep its acknowledged start (at most one part).
                    head = obstore.get_range(store.objects, path, start=0, length=size - offset)
                    obstore.put(store.objects, path, head)
                    kept.append((offset, size - offset))
                else:
                    kept.append((offset, length))
        return cls(store, key=key, pieces=pieces, final=final, held=kept)

    @property
    def size(self) -> int:
        return self._stored + len(self._buffer)

    def _require_open(self, what: str) -> None:
        if self._state != "open":
            raise RuntimeError(f"{what}() on a blob writer that is {self._state}")

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._require_open("write")
        view = memoryview(data).cast("B")
        while view:
            room = self._store.part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= self._store.part_size:
                self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        from strongroom.storage.blob_backends.objects import store_errors

        offset = self._stored
        with store_errors("store part of a resumable blob"):
            obstore.put(self._store.objects, _piece(self._pieces, offset), bytes(self._buffer))
        self._held.append((offset, len(self._buffer)))
        self._stored += len(self._buffer)
        self._buffer = bytearray()

    def sync(self) -> None:
        self._require_open("sync")
        self._flush()

    def read(self, *, offset: int, length: int) -> bytes:
        if self._state != "open":
            raise RuntimeError(f"read() on a blob writer that is {self._state}")
        from strongroom.storage.blob_backends.objects import store_errors

        out = bytearray()
        end = min(offset + length, self.size)
        with store_errors("read a resumable blob"):
            for start, size in self._held:
                lo, hi = max(offset, start), min(end, start + size)
                if lo < hi:
                    out += obstore.get_range(
                        self._store.objects, _piece(self._pieces, start), start=lo - start, length=hi - lo
                    )
        stored = self._stored
        lo, hi = max(offset, stored), end
        if lo < hi:
            out += self._buffer[lo - stored : hi - stored]
        return bytes(out)

    def complete(self) -> None:
        self._require_open("complete")
        from strongroom.storage.blob_backends.objects import store_errors

        self._flush()
        file: WritableFile | None = None
        try:
            with store_errors("store a blob durably"):
                file = obstore.open_writer(
                    self._store.objects,
                    self._final,
                    buffer_size=self._store.part_size,
                    max_concurrency=self._store.concurrency,
                )
                for start, size in self._held:
                    path = _piece(self._pieces, start)
                    for lo in range(0, size, self._store.part_size):
                        n = min(self._store.part_size, size - lo)
                        # A fresh buffer per read that nothing reuses: obstore may keep it until sent.
                        file.write(obstore.get_range(self._store.objects, path, start=lo, length=n))
                file.close()
                file = None
        except BaseException:
            if file is not None:
                _abort_upload(file)
            raise
        self._state = "done"
        self._store.delete_all(self._pieces)

    def abort(self) -> None:
        if self._state in ("done", "aborted"):
            return
        self._state = "aborted"
        self._buffer = bytearray()
        self._store.delete_all(self._pieces)

    def close(self) -> None:
        if self._state == "open":
            self._buffer = bytearray()  # not synced: the caller never acknowledged these bytes
            self._state = "closed"


def _piece(pieces: str, offset: int) -> str:
    return f"{pieces}{offset:0{_OFFSET_DIGITS}d}"


def _abort_upload(file: WritableFile) -> None:
    with contextlib.suppress(BaseError, OSError):
        file.__exit__(RuntimeError, RuntimeError("aborted"), None)
