"""The buffers of one read: where its sealed bytes come from, and reusable plaintext buffers for
chunks handed to a consumer that may hold them for a while."""

import contextlib
import mmap

from strongroom.storage.blobs import BlobStore

# The map's pages already read are let go once this many bytes of them have gathered.
_DROP_BEHIND = 16 << 20
# A long read asks the kernel to start reading this far ahead of the batch being decrypted.
_READ_AHEAD = 32 << 20


class SealedSource:
    """One read's sealed bytes: the blob's file mapped where the store can map it (decrypted where
    it lies, with no copy out of the page cache), else read into one buffer reused for the read."""

    def __init__(self, store: BlobStore, key: str, *, batches: int) -> None:
        self._store, self._key = store, key
        self._buffer = bytearray()
        self._map = store.mapped(key)
        self._whole = None if self._map is None else memoryview(self._map)
        self._behind = 0  # where the map's pages still in this process's memory start
        self._ahead = 0  # where the bytes not yet asked of the disk start (long reads only)
        self._long = self._map is not None and batches > 1
        if self._map is not None and self._long:
            # A long read: the kernel reads further ahead and may drop the pages behind sooner.
            self._map.madvise(mmap.MADV_SEQUENTIAL)

    def batch(self, offset: int, length: int) -> memoryview:
        """Up to `length` bytes from `offset`, fewer only where the blob ends. The caller SHALL
        release the view before asking for the next batch."""
        if self._map is not None and self._whole is not None:
            edge = offset - offset % mmap.PAGESIZE  # madvise takes whole pages
            if edge - self._behind >= _DROP_BEHIND:
                # Pages of a map count as this process's memory (its RSS) until unmapped: let go
                # of those already decrypted, so a long read holds one batch, not the whole file.
                # They stay in the page cache; only this process's mapping of them goes.
                self._map.madvise(mmap.MADV_DONTNEED, self._behind, edge - self._behind)
                self._behind = edge
            if self._long and offset + length + _READ_AHEAD // 2 > self._ahead:
                # From a cold disk (an upload drops its blob's pages once they are on the disk),
                # each page fault of the batch would wait for its own read: ask for the next
                # stretch at once, so the disk reads while this thread decrypts.
                start = max(self._ahead, edge)
                start -= start % mmap.PAGESIZE  # madvise takes whole pages
                end = min(len(self._map), offset + length + _READ_AHEAD)
                if end > start:
                    with contextlib.suppress(OSError):  # advice only: the faults read it anyway
                        self._map.madvise(mmap.MADV_WILLNEED, start, end - start)
                self._ahead = end
            return self._whole[offset : offset + length]
        if len(self._buffer) != length:  # every batch but the last has the same size
            self._buffer = bytearray(length)
        got = self._store.read_into(self._key, offset=offset, into=self._buffer)
        return memoryview(self._buffer)[:got]


class BufferRing:
    """Plaintext buffers of one read, each reused only when no view into it is left anywhere.

    A consumer (the connection's transport) may keep a view into a chunk after taking the next
    one; a bytearray with a live view cannot change size, which is how a buffer is known free.
    """

    SIZE = 4  # the chunk being sent, the one decrypted ahead, and slack for the transport

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._buffers: list[bytearray] = []

    def take(self) -> bytearray:
        for buffer in self._buffers:
            if _unshared(buffer):
                return buffer
        buffer = bytearray(self._capacity)
        if len(self._buffers) < self.SIZE:
            self._buffers.append(buffer)
        return buffer


def _unshared(buffer: bytearray) -> bool:
    """Whether no memoryview of `buffer` exists: resizing one that has a view raises BufferError."""
    try:
        buffer.append(0)
    except BufferError:
        return False
    del buffer[-1]
    return True
