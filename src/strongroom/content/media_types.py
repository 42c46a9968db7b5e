"""What a file really is, from its first bytes, and which type it may be served with.

Uploaded bytes are hostile: the client's Content-Type and the file name are claims, not facts. An
HLS playlist named `clip.mp4` would make ffmpeg's probe open the files it lists; an HTML page sent
as `image/png` would run script in our origin if a browser sniffed it. So:

* `sniff(head)` names the format from the leading bytes (magic numbers), or None.
* `stored_type(...)` is what a new version records: the sniffed type when the bytes are known, the
  declared or guessed type only when it claims nothing the bytes contradict.
* `served_type(stored)` is the only type a door sends: a type on `INLINE_TYPES` (all of them inert
  under `X-Content-Type-Options: nosniff`), else `application/octet-stream` as an attachment.
* `DEMUXERS` maps a sniffed media type to the one ffmpeg demuxer the preview worker forces.
"""

import mimetypes

OCTET_STREAM = "application/octet-stream"
HEAD_BYTES = 4096  # enough for every signature below, and for a text/markup check

# Types a browser shows without running anything (media elements, image decoders, a PDF viewer,
# plain text), given nosniff. Everything else is served as an octet-stream attachment.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/wav",
        "audio/ogg",
        "audio/flac",
        "audio/aac",
        "application/pdf",
        "text/plain",
    }
)

# Sniffed media type → the ffmpeg demuxer forced for it (`-f`), so ffmpeg never probes the format.
# None of these opens another URL: playlists (hls, dash), concat, image2 sequences, tee, sdp and
# rtp are absent on purpose, and mov's external data references are switched off by its caller.
DEMUXERS: dict[str, str] = {
    "image/jpeg": "jpeg_pipe",
    "image/png": "png_pipe",
    "image/gif": "gif",
    "image/webp": "webp_pipe",
    "image/bmp": "bmp_pipe",
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/3gpp": "mov",
    "audio/mp4": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "video/x-msvideo": "avi",
    "video/mp2t": "mpegts",
    "video/mpeg": "mpeg",
    "video/x-ms-asf": "asf",
    "video/x-flv": "flv",
    "video/ogg": "ogg",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/flac": "flac",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/amr": "amr",
    "audio/aiff": "aiff",
    "audio/basic": "au",
}

# Declared types that only the bytes may grant: a claim the sniffer does not confirm is dropped.
_CLAIMS_NEEDING_PROOF = ("image/", "video/", "audio/", "application/pdf", "text/html", "image/svg")
_ACTIVE_TEXT = ("text/html", "text/xml", "application/xml", "image/svg+xml", "text/javascript")
_MARKUP = (b"<html", b"<script", b"<svg", b"<iframe", b"<body", b"<head", b"<!doctype html", b"<object")
_FTYP_AUDIO = (b"M4A ", b"M4B ", b"M4P ")
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def _riff(head: bytes) -> str | None:
    kind = head[8:12]
    return {b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo", b"WEBP": "image/webp"}.get(kind)


def _iso_media(head: bytes) -> str | None:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_AUDIO:
            return "audio/mp4"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        return "video/mp4"
    if head[4:8] in _QUICKTIME_ATOMS and len(head) >= 8:
        return "video/quicktime"
    return None


def _mpeg_audio(head: bytes) -> str | None:
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = head[1] & 0x06
    if layer == 0 and head[1] & 0xF0 == 0xF0:
        return "audio/aac"  # ADTS: MPEG sync word with layer 00
    return "audio/mpeg" if layer else None


def _binary(head: bytes) -> str | None:  # noqa: PLR0911 - a table of magic numbers
    signatures: tuple[tuple[bytes, str], ...] = (
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"OggS", "audio/ogg"),
        (b"fLaC", "audio/flac"),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "video/x-ms-asf"),
        (b"FLV\x01", "video/x-flv"),
        (b"#!AMR\n", "audio/amr"),
        (b".snd", "audio/basic"),
        (b"\x00\x00\x01\xba", "video/mpeg"),
    )
    for magic, kind in signatures:
        if head.startswith(magic):
            if kind == "audio/ogg" and b"theora" in head[:256]:
                return "video/ogg"
            return kind
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head.startswith(b"RIFF"):
        return _riff(head)
    if head.startswith(b"FORM") and head[8:12] in {b"AIFF", b"AIFC"}:
        return "audio/aiff"
    if head.startswith(b"BM") and head[6:10] == b"\0\0\0\0":
        return "image/bmp"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "video/mp2t"
    return _iso_media(head) or _mpeg_audio(head)


def _text(head: bytes) -> str | None:
    """text/plain, a markup type, or a media playlist; None for binary."""
    if b"\0" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a character cut by the head's end is still text
            return None
        text = head[: exc.start].decode("utf-8")
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if lowered.startswith("#extm3u"):
        return "application/vnd.apple.mpegurl"
    if lowered.startswith(("<?xml", "<svg")):
        return "image/svg+xml" if "<svg" in lowered else "application/xml"
    if any(tag.decode() in lowered for tag in _MARKUP):
        return "text/html"
    return "text/plain"


def sniff(head: bytes) -> str | None:
    """The type the leading bytes prove, or None when they prove nothing we know."""
    if not head:
        return None
    return _binary(head) or _text(head)


def stored_type(*, name: str, declared: str | None, head: bytes) -> str:
    """The type a new version records, from its bytes first. A declared (or name-guessed) type is kept
    only for formats we cannot sniff (office documents, archives...), and never when it claims media,
    PDF or markup the bytes do not show."""
    sniffed = sniff(head)
    claimed = (declared or mimetypes.guess_type(name)[0] or OCTET_STREAM).split(";")[0].strip().lower()
    if sniffed == "text/plain" and claimed.startswith("text/") and claimed not in _ACTIVE_TEXT:
        return claimed  # text/csv, text/markdown...: the bytes are text, the name says which
    if sniffed is not None:
        return sniffed
    if claimed.startswith(_CLAIMS_NEEDING_PROOF) or claimed in _ACTIVE_TEXT or claimed.startswith("text/"):
        return OCTET_STREAM
    return claimed


def served_type(stored: str | None) -> str:
    """The Content-Type a door may send for stored content: inert types only."""
    kind = (stored or "").split(";")[0].strip().lower()
    return kind if kind in INLINE_TYPES else OCTET_STREAM


def may_show_inline(served: str) -> bool:
    """Whether a door may offer `Content-Disposition: inline` (else: attachment, whatever was asked)."""
    return served in INLINE_TYPES


def media_family(sniffed: str | None) -> str | None:
    """`video`, `audio` or `image` for a type ffmpeg may decode (one with a forced demuxer), else None."""
    if sniffed is None or sniffed not in DEMUXERS:
        return None
    return sniffed.partition("/")[0]


def describe(sniffed: str | None) -> str:
    """Words for a "no preview" reason."""
    names = {
        "application/vnd.apple.mpegurl": "an HLS playlist (it lists other files to fetch)",
        "text/html": "a web page",
        "image/svg+xml": "an SVG drawing",
        "application/xml": "an XML document",
        "text/plain": "a text file",
        "application/pdf": "a PDF document",
    }
    if sniffed is None:
        return "a format we do not recognise"
    return names.get(sniffed, sniffed)
