"""The sealed blob format: a header, then AES-256-GCM segments that open one at a time.

Layout (the same idea as Tink's streaming AEAD, built only from `cryptography`'s AESGCM)::

    header   16 bytes  b"SRB1" | version (1 byte) | segment size (4 bytes, big-endian)
                       | nonce prefix (7 random bytes)
    version 1, segment i   AES-256-GCM(plaintext[i * size : (i + 1) * size]) || 16-byte tag
    version 2, segment i   segment nonce prefix (7 random bytes) || AES-256-GCM(...) || 16-byte tag

Every segment but the last holds exactly `segment_size` plaintext bytes; the last holds
0..segment_size bytes, so an empty file is a header and one sealed empty segment.

The 12-byte nonce of segment i is ``prefix || i (4 bytes, big-endian) || last flag (1 byte)``,
where the prefix is the header's (version 1) or the segment's own (version 2). The associated
data of every segment is ``header || aad_id`` (aad_id is the file version's id). Together these
make reordering, dropping, truncating and swapping segments between blobs or between records
fail authentication.

Why two versions: a (key, nonce) pair must never seal two plaintexts. A one-pass blob
(version 1) gets a fresh data key and seals each segment once. A resumable blob (tus, version 2)
keeps its key across requests, and a segment refused or lost in a crash is sealed again from the
client's re-send, whose bytes may differ; a fresh random prefix for every sealing keeps those
nonces apart (a repeat needs the same index and 56 random bits to collide). Both are read.
"""

import os
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.errors import TooLarge, Unavailable
from strongroom.storage.keys import DATA_KEY_SIZE

MAGIC: Final = b"SRB1"
FORMAT_COUNTER_NONCES: Final = 1
"""One-pass blobs: every segment's nonce prefix is the header's."""
FORMAT_STORED_NONCES: Final = 2
"""Resumable blobs: every segment carries its own random nonce prefix."""
FORMAT_VERSION: Final = FORMAT_COUNTER_NONCES
_READABLE_VERSIONS: Final = (FORMAT_COUNTER_NONCES, FORMAT_STORED_NONCES)
HEADER_SIZE: Final = 16
TAG_SIZE: Final = 16
NONCE_PREFIX_SIZE: Final = 7
MIN_SEGMENT_SIZE: Final = 1
# 64 MiB: a reader holds one segment in memory, so the size bounds a download's memory.
MAX_SEGMENT_SIZE: Final = 64 << 20
# The segment index is 4 bytes in the nonce.
MAX_SEGMENTS: Final = 1 << 32

_HEADER = struct.Struct(">4sBI7s")
_NONCE = struct.Struct(">7sIB")
assert _HEADER.size == HEADER_SIZE


class CorruptBlob(Unavailable):
    """The blob's bytes do not authenticate: tampered, truncated, swapped or sealed for another record.

    An Unavailable (503 on every door): the stored bytes cannot be served, and nothing the client
    sent is at fault. Readers record it as a `storage.blob.tampered` incident (content/scrub.py).
    """

    code = "corrupt_blob"


@dataclass(frozen=True)
class BlobHeader:
    segment_size: int
    nonce_prefix: bytes
    raw: bytes
    version: int = FORMAT_COUNTER_NONCES

    @property
    def segment_overhead(self) -> int:
        """Sealed bytes per segment beyond its plaintext: the tag, and in version 2 the nonce prefix."""
        return segment_overhead(self.version)


def segment_overhead(version: int) -> int:
    return TAG_SIZE + (NONCE_PREFIX_SIZE if version == FORMAT_STORED_NONCES else 0)


def _check_segment_size(segment_size: int) -> None:
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError(f"segment_size must be {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE}, not {segment_size}")


def new_header(*, segment_size: int, version: int = FORMAT_VERSION) -> bytes:
    """A header for a new blob, with a fresh random nonce prefix. Resumable blobs pass
    FORMAT_STORED_NONCES (see the module docstring)."""
    _check_segment_size(segment_size)
    if version not in _READABLE_VERSIONS:
        raise ValueError(f"unknown blob format version {version}")
    return _HEADER.pack(MAGIC, version, segment_size, os.urandom(NONCE_PREFIX_SIZE))


def parse_header(raw: bytes) -> BlobHeader:
    """Parse the first HEADER_SIZE bytes of a blob. Raises CorruptBlob if they are not a header we write.

    The header is not authenticated here; every segment authenticates it as associated data.
    """
    if len(raw) != HEADER_SIZE:
        raise CorruptBlob(f"The blob header is {len(raw)} bytes; expected {HEADER_SIZE}.")
    magic, version, segment_size, prefix = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise CorruptBlob("The blob does not start with the sealed-blob magic bytes.")
    if version not in _READABLE_VERSIONS:
        raise CorruptBlob(f"The blob has format version {version}; this build reads {_READABLE_VERSIONS}.")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise CorruptBlob(f"The blob header names an impossible segment size ({segment_size}).")
    return BlobHeader(segment_size=segment_size, nonce_prefix=prefix, raw=bytes(raw), version=version)


def segment_nonce(*, nonce_prefix: bytes, index: int, last: bool) -> bytes:
    """The 12-byte nonce of segment `index`: prefix || index (4 bytes, big-endian) || last flag."""
    if not 0 <= index < MAX_SEGMENTS:
        raise TooLarge(f"Segment index {index} is outside the format's range (0..{MAX_SEGMENTS - 1}).")
    return _NONCE.pack(nonce_prefix, index, 1 if last else 0)


def _check_key(dek: bytes) -> None:
    if len(dek) != DATA_KEY_SIZE:
        raise ValueError(f"a data key is {DATA_KEY_SIZE} bytes, not {len(dek)}")


class SegmentSealer:
    """Seals the segments of one blob. Holds no per-segment state, so it is safe to share between threads."""

    def __init__(self, *, dek: bytes, header: BlobHeader, aad_id: bytes) -> None:
        _check_key(dek)
        self._aead = AESGCM(dek)
        self._prefix = header.nonce_prefix
        self._stored = header.version == FORMAT_STORED_NONCES
        self._aad = header.raw + aad_id

    def seal(self, index: int, plaintext: bytes | bytearray | memoryview, *, last: bool) -> bytes:
        """The sealed segment `index` (a fresh bytes object): [nonce prefix ||] ciphertext || tag."""
        if not self._stored:
            return self._aead.encrypt(
                segment_nonce(nonce_prefix=self._prefix, index=index, last=last), plaintext, self._aad
            )
        prefix = os.urandom(NONCE_PREFIX_SIZE)
        nonce = segment_nonce(nonce_prefix=prefix, index=index, last=last)
        return prefix + self._aead.encrypt(nonce, plaintext, self._aad)

    def seal_into(
        self,
        index: int,
        plaintext: bytes | bytearray | memoryview,
        *,
        last: bool,
        out: bytearray | memoryview,
    ) -> int:
        """Seal into `out` (at least len(plaintext) + the segment overhead) and return the bytes written.

        For the hot path: reusing one output buffer per writer avoids a fresh segment-sized
        allocation per segment, which PERFORMANCE.md measured to cost throughput.
        """
        target = memoryview(out)
        prefix = self._prefix
        start = 0
        if self._stored:
            # A fresh prefix for every sealing: a re-sealed segment never repeats a nonce.
            prefix = os.urandom(NONCE_PREFIX_SIZE)
            target[:NONCE_PREFIX_SIZE] = prefix
            start = NONCE_PREFIX_SIZE
        end = start + len(plaintext) + TAG_SIZE
        self._aead.encrypt_into(
            segment_nonce(nonce_prefix=prefix, index=index, last=last),
            plaintext,
            self._aad,
            target[start:end],
        )
        return end


class SegmentOpener:
    """Opens the segments of one blob, each on its own (this is what makes range reads cheap)."""

    def __init__(self, *, dek: bytes, header: BlobHeader, aad_id: bytes) -> None:
        _check_key(dek)
        self._aead = AESGCM(dek)
        self._prefix = header.nonce_prefix
        self._stored = header.version == FORMAT_STORED_NONCES
        self._overhead = header.segment_overhead
        self._aad = header.raw + aad_id

    def _split(
        self, index: int, sealed: bytes | bytearray | memoryview, *, last: bool
    ) -> tuple[bytes, memoryview]:
        """(nonce, ciphertext || tag) of a sealed segment."""
        view = memoryview(sealed)
        if len(view) < self._overhead:
            raise self._corrupt(index, last=last)
        if not self._stored:
            return segment_nonce(nonce_prefix=self._prefix, index=index, last=last), view
        prefix = bytes(view[:NONCE_PREFIX_SIZE])
        return segment_nonce(nonce_prefix=prefix, index=index, last=last), view[NONCE_PREFIX_SIZE:]

    def open(self, index: int, ciphertext: bytes | bytearray | memoryview, *, last: bool) -> bytes:
        """The plaintext of segment `index`. Raises CorruptBlob if it does not authenticate."""
        nonce, body = self._split(index, ciphertext, last=last)
        try:
            return self._aead.decrypt(nonce, body, self._aad)
        except InvalidTag:
            raise self._corrupt(index, last=last) from None

    def open_in_place(self, index: int, sealed: memoryview, *, last: bool) -> memoryview:
        """Decrypt segment `index` where it lies (a writable view) and return its plaintext there.

        For the download path: no buffer is allocated per segment. Raises CorruptBlob if it does
        not authenticate; the view then holds unauthenticated bytes the caller SHALL NOT use.
        """
        nonce, body = self._split(index, sealed, last=last)
        plain = body[: len(body) - TAG_SIZE]
        try:
            self._aead.decrypt_into(nonce, body, self._aad, plain)
        except InvalidTag:
            raise self._corrupt(index, last=last) from None
        return plain

    def open_into(
        self,
        index: int,
        ciphertext: bytes | bytearray | memoryview,
        *,
        last: bool,
        out: bytearray | memoryview,
    ) -> int:
        """Open into `out` (at least len(ciphertext) less the overhead); return the plaintext length.

        On failure `out` may hold unauthenticated bytes; the caller SHALL NOT use them.
        """
        nonce, body = self._split(index, ciphertext, last=last)
        size = len(body) - TAG_SIZE
        try:
            self._aead.decrypt_into(nonce, body, self._aad, memoryview(out)[:size])
        except InvalidTag:
            raise self._corrupt(index, last=last) from None
        return size

    @staticmethod
    def _corrupt(index: int, *, last: bool) -> CorruptBlob:
        where = "the last segment" if last else "a middle segment"
        return CorruptBlob(
            f"Segment {index} ({where}) of the blob failed authentication: the blob was changed, "
            "truncated, reordered or belongs to another record.",
            segment=index,
        )


def segment_count(*, plaintext_size: int, segment_size: int) -> int:
    """How many segments a blob of `plaintext_size` bytes has: at least 1 (an empty file has one)."""
    if plaintext_size < 0:
        raise ValueError("plaintext_size must not be negative")
    _check_segment_size(segment_size)
    return max(1, -(-plaintext_size // segment_size))


def sealed_size(*, plaintext_size: int, segment_size: int, overhead: int = TAG_SIZE) -> int:
    """Total blob bytes, header included (`overhead`: BlobHeader.segment_overhead)."""
    count = segment_count(plaintext_size=plaintext_size, segment_size=segment_size)
    return HEADER_SIZE + plaintext_size + count * overhead


def ciphertext_span(
    *, index: int, plaintext_size: int, segment_size: int, overhead: int = TAG_SIZE
) -> tuple[int, int]:
    """(offset, length) of segment `index` inside the blob, tag (and stored nonce prefix) included."""
    count = segment_count(plaintext_size=plaintext_size, segment_size=segment_size)
    if not 0 <= index < count:
        raise ValueError(f"segment {index} does not exist in a blob of {count} segments")
    offset = HEADER_SIZE + index * (segment_size + overhead)
    length = min(segment_size, plaintext_size - index * segment_size) + overhead
    return offset, length


def segments_for_range(*, start: int, end_inclusive: int, segment_size: int) -> range:
    """The indexes of the segments holding plaintext bytes [start, end_inclusive]."""
    _check_segment_size(segment_size)
    if not 0 <= start <= end_inclusive:
        raise ValueError(f"bad plaintext range {start}-{end_inclusive}")
    return range(start // segment_size, end_inclusive // segment_size + 1)
