"""Reusable buffers for chunks handed to a consumer that may hold them for a while."""


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
