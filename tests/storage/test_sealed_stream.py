"""The sealed blob format: round trips, tamper detection and the nonce/AAD construction."""

import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.storage.sealed_stream import (
    HEADER_SIZE,
    TAG_SIZE,
    BlobHeader,
    CorruptBlob,
    SegmentOpener,
    SegmentSealer,
    ciphertext_span,
    new_header,
    parse_header,
    sealed_size,
    segment_count,
    segments_for_range,
)

SEG = 4096
AAD_ID = b"version-0001"


def seal_all(plaintext: bytes, *, dek: bytes, aad_id: bytes = AAD_ID, segment_size: int = SEG) -> bytes:
    header = parse_header(new_header(segment_size=segment_size))
    sealer = SegmentSealer(dek=dek, header=header, aad_id=aad_id)
    count = segment_count(plaintext_size=len(plaintext), segment_size=segment_size)
    parts = [header.raw]
    for i in range(count):
        chunk = plaintext[i * segment_size : (i + 1) * segment_size]
        parts.append(sealer.seal(i, chunk, last=i == count - 1))
    return b"".join(parts)


def split_segments(blob: bytes, *, segment_size: int = SEG) -> tuple[BlobHeader, list[bytes]]:
    header = parse_header(blob[:HEADER_SIZE])
    body = blob[HEADER_SIZE:]
    step = segment_size + TAG_SIZE
    return header, [body[i : i + step] for i in range(0, len(body), step)]


def open_all(blob: bytes, *, dek: bytes, aad_id: bytes = AAD_ID) -> bytes:
    """Opens segments in the order stored, treating the one stored last as the last segment."""
    header, segments = split_segments(blob)
    opener = SegmentOpener(dek=dek, header=header, aad_id=aad_id)
    return b"".join(opener.open(i, seg, last=i == len(segments) - 1) for i, seg in enumerate(segments))


@pytest.fixture
def dek() -> bytes:
    return AESGCM.generate_key(bit_length=256)


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 5])
def test_round_trip(size: int, dek: bytes) -> None:
    plaintext = os.urandom(size)
    blob = seal_all(plaintext, dek=dek)
    assert len(blob) == sealed_size(plaintext_size=size, segment_size=SEG)
    assert open_all(blob, dek=dek) == plaintext


def test_empty_file_is_header_and_one_empty_segment(dek: bytes) -> None:
    blob = seal_all(b"", dek=dek)
    assert len(blob) == HEADER_SIZE + TAG_SIZE
    assert segment_count(plaintext_size=0, segment_size=SEG) == 1


def test_seal_into_matches_seal(dek: bytes) -> None:
    header = parse_header(new_header(segment_size=SEG))
    sealer = SegmentSealer(dek=dek, header=header, aad_id=AAD_ID)
    plaintext = os.urandom(SEG)
    out = bytearray(SEG + TAG_SIZE + 10)
    n = sealer.seal_into(2, plaintext, last=False, out=out)
    assert bytes(out[:n]) == sealer.seal(2, plaintext, last=False)
    opener = SegmentOpener(dek=dek, header=header, aad_id=AAD_ID)
    back = bytearray(SEG)
    assert opener.open_into(2, out[:n], last=False, out=back) == SEG
    assert back == plaintext


def test_flipped_byte_in_a_segment_is_detected(dek: bytes) -> None:
    blob = bytearray(seal_all(os.urandom(3 * SEG + 5), dek=dek))
    blob[HEADER_SIZE + (SEG + TAG_SIZE) + 100] ^= 0x01  # inside segment 1
    with pytest.raises(CorruptBlob, match="Segment 1") as info:
        open_all(bytes(blob), dek=dek)
    assert info.value.code == "corrupt_blob"
    assert info.value.data["segment"] == 1


def test_swapped_segments_are_detected(dek: bytes) -> None:
    header, segments = split_segments(seal_all(os.urandom(3 * SEG + 5), dek=dek))
    segments[0], segments[1] = segments[1], segments[0]
    with pytest.raises(CorruptBlob):
        open_all(header.raw + b"".join(segments), dek=dek)


def test_dropped_last_segment_is_detected(dek: bytes) -> None:
    header, segments = split_segments(seal_all(os.urandom(3 * SEG + 5), dek=dek))
    truncated = header.raw + b"".join(segments[:-1])
    # The new last segment was sealed with the last flag 0, so it fails when opened as last.
    with pytest.raises(CorruptBlob, match="Segment 2"):
        open_all(truncated, dek=dek)


def test_truncation_at_a_segment_boundary_of_an_exact_multiple_is_detected(dek: bytes) -> None:
    header, segments = split_segments(seal_all(os.urandom(2 * SEG), dek=dek))
    assert len(segments) == 2  # no empty trailing segment for an exact multiple
    with pytest.raises(CorruptBlob):
        open_all(header.raw + segments[0], dek=dek)


def test_wrong_aad_id_is_detected(dek: bytes) -> None:
    blob = seal_all(os.urandom(SEG + 1), dek=dek, aad_id=b"version-A")
    with pytest.raises(CorruptBlob):
        open_all(blob, dek=dek, aad_id=b"version-B")


def test_segment_from_another_blob_with_same_key_is_detected(dek: bytes) -> None:
    # Even under one key (never done in practice), a different header (nonce prefix) rejects it.
    header_a, segments_a = split_segments(seal_all(os.urandom(2 * SEG), dek=dek))
    _, segments_b = split_segments(seal_all(os.urandom(2 * SEG), dek=dek))
    with pytest.raises(CorruptBlob):
        open_all(header_a.raw + segments_a[0] + segments_b[1], dek=dek)


def test_wrong_key_is_detected(dek: bytes) -> None:
    blob = seal_all(os.urandom(10), dek=dek)
    with pytest.raises(CorruptBlob):
        open_all(blob, dek=AESGCM.generate_key(bit_length=256))


def test_header_tamper_is_detected(dek: bytes) -> None:
    blob = bytearray(seal_all(os.urandom(SEG + 1), dek=dek))
    blob[HEADER_SIZE - 1] ^= 0x80  # last byte of the nonce prefix: still parses, fails to open
    with pytest.raises(CorruptBlob):
        open_all(bytes(blob), dek=dek)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"XRB1" + bytes(12), "magic"),
        (b"SRB1\x03" + struct.pack(">I", SEG) + bytes(7), "version 3"),
        (b"SRB1\x01" + struct.pack(">I", 0) + bytes(7), "segment size"),
        (b"SRB1\x01", "5 bytes"),
    ],
)
def test_bad_headers_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(CorruptBlob, match=message):
        parse_header(raw)


def test_header_layout() -> None:
    raw = new_header(segment_size=SEG)
    assert len(raw) == HEADER_SIZE == 16
    assert raw[:4] == b"SRB1"
    assert raw[4] == 1
    assert int.from_bytes(raw[5:9], "big") == SEG
    header = parse_header(raw)
    assert header.nonce_prefix == raw[9:16]
    assert header.segment_size == SEG
    assert new_header(segment_size=SEG)[9:] != raw[9:]  # a fresh random prefix per blob


def test_nonce_and_aad_construction_by_hand(dek: bytes) -> None:
    plaintext = os.urandom(2 * SEG + 7)
    blob = seal_all(plaintext, dek=dek)
    header, segments = split_segments(blob)
    aead = AESGCM(dek)
    for index, last in [(1, 0), (2, 1)]:
        nonce = header.nonce_prefix + index.to_bytes(4, "big") + bytes([last])
        opened = aead.decrypt(nonce, segments[index], header.raw + AAD_ID)
        assert opened == plaintext[index * SEG : (index + 1) * SEG]


def test_sizes_and_spans() -> None:
    assert segment_count(plaintext_size=0, segment_size=SEG) == 1
    assert segment_count(plaintext_size=SEG, segment_size=SEG) == 1
    assert segment_count(plaintext_size=SEG + 1, segment_size=SEG) == 2
    assert sealed_size(plaintext_size=3 * SEG + 5, segment_size=SEG) == 16 + 3 * SEG + 5 + 4 * 16
    assert ciphertext_span(index=0, plaintext_size=0, segment_size=SEG) == (16, 16)
    assert ciphertext_span(index=1, plaintext_size=3 * SEG + 5, segment_size=SEG) == (16 + SEG + 16, SEG + 16)
    assert ciphertext_span(index=3, plaintext_size=3 * SEG + 5, segment_size=SEG) == (16 + 3 * (SEG + 16), 21)
    with pytest.raises(ValueError, match="does not exist"):
        ciphertext_span(index=4, plaintext_size=3 * SEG + 5, segment_size=SEG)
    assert segments_for_range(start=0, end_inclusive=0, segment_size=SEG) == range(1)
    assert segments_for_range(start=SEG - 1, end_inclusive=SEG, segment_size=SEG) == range(2)
    assert segments_for_range(start=SEG, end_inclusive=3 * SEG, segment_size=SEG) == range(1, 4)
    with pytest.raises(ValueError, match="bad plaintext range"):
        segments_for_range(start=5, end_inclusive=4, segment_size=SEG)
