"""The stored type comes from the bytes; a client's claim survives only where the bytes cannot speak."""

import pytest

from strongroom.content import media_types

ZIP = b"PK\x03\x04" + bytes(40)


@pytest.mark.parametrize(
    ("name", "declared", "head", "stored"),
    [
        ("clip.mp4", "video/mp4", b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n", "application/vnd.apple.mpegurl"),
        ("clip.mp4", "video/mp4", b"ffconcat version 1.0\nfile '/etc/passwd'\n", "text/plain"),
        ("photo.png", "image/png", b"<html><script>alert(1)</script>", "text/html"),
        ("notes.txt", "text/plain", b"hello <svg onload=alert(1)>", "text/html"),
        (
            "map.svg",
            None,
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            "image/svg+xml",
        ),
        ("data.csv", "text/csv", b"a,b\n1,2\n", "text/csv"),
        ("page.html", "text/html", b"just words", "text/plain"),
        ("random.mp4", "video/mp4", bytes(range(256)), "application/octet-stream"),
        ("report.docx", None, ZIP, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("scan", None, b"%PDF-1.7\n", "application/pdf"),
        ("call", None, b"ID3\x04\x00", "audio/mpeg"),
        ("cctv", None, b"\x00\x00\x00\x20ftypisom", "video/mp4"),
        ("memo", None, b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        ("ts", None, (b"\x47" + bytes(187)) * 3, "video/mp2t"),
        ("empty.txt", "text/plain", b"", "application/octet-stream"),
    ],
)
def test_stored_type_is_decided_by_the_bytes(
    name: str, declared: str | None, head: bytes, stored: str
) -> None:
    assert media_types.stored_type(name=name, declared=declared, head=head) == stored


@pytest.mark.parametrize(
    ("stored", "served", "inline"),
    [
        ("text/html", "application/octet-stream", False),
        ("image/svg+xml", "application/octet-stream", False),
        ("application/vnd.apple.mpegurl", "application/octet-stream", False),
        ("application/javascript", "application/octet-stream", False),
        ("video/mp4", "video/mp4", True),
        ("image/png", "image/png", True),
        ("text/plain; charset=utf-8", "text/plain", True),
        (None, "application/octet-stream", False),
    ],
)
def test_only_inert_types_are_served_as_themselves(stored: str | None, served: str, inline: bool) -> None:
    assert media_types.served_type(stored) == served
    assert media_types.may_show_inline(served) is inline


def test_only_allow_listed_demuxers_are_ever_forced() -> None:
    forbidden = {"hls", "concat", "dash", "image2", "sdp", "rtp", "tee", "applehttp", "mpjpeg", "data"}
    assert not forbidden & set(media_types.DEMUXERS.values())
