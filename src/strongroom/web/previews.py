"""Which preview the staff UI offers for a file, decided by its stored type (sniffed from the bytes).

Browsers play MP4/WebM/Ogg video and MP3/AAC/WAV/Ogg/Opus/FLAC audio natively; other media (AVI,
MKV, MOV, WMA, AMR, G.729 call recordings...) play from the rendition the background job converts
with ffmpeg. Word, Excel, PowerPoint and OpenDocument files show as the PDF LibreOffice makes of them
(content/office.py), in the same pdf.js viewer as a PDF. HTML, SVG and XML are shown as text, never
rendered: in our origin they could run script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from strongroom.content import media_types, office
from strongroom.content.renditions import PreviewStatus

NATIVE_VIDEO = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg"}
NATIVE_AUDIO = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
}
CONVERTED_VIDEO = {
    ".avi",
    ".mkv",
    ".mov",
    ".wmv",
    ".mpg",
    ".mpeg",
    ".3gp",
    ".flv",
    ".ts",
    ".mts",
    ".m2ts",
    ".dav",
}
CONVERTED_AUDIO = {".wma", ".amr", ".gsm", ".au", ".aiff", ".aif", ".ac3", ".vox"}
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif"}
TEXT = {
    ".txt", ".log", ".csv", ".tsv", ".md", ".json", ".xml", ".html", ".htm", ".svg", ".eml", ".ini", ".yaml",
    ".yml", ".srt", ".vtt", ".rtf",
}  # fmt: skip
DOCUMENTS = {".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp"}
MAX_TEXT_PREVIEW_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Preview:
    kind: str  # "video" | "audio" | "image" | "pdf" | "text" | "none"
    source: str  # "content" (the original bytes) or "rendition" (converted by the background job)
    mime: str | None = None


NATIVE_TYPES = {
    "video/mp4": "video",
    "video/webm": "video",
    "video/ogg": "video",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/aac": "audio",
    "audio/wav": "audio",
    "audio/ogg": "audio",
    "audio/flac": "audio",
}
BROWSER_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
SHOWN_AS_TEXT = {"application/xml", "image/svg+xml", "application/vnd.apple.mpegurl", "application/json"}


def preview_kind(name: str, content_type: str | None) -> Preview:  # noqa: PLR0911 - a decision table
    """Decided by the stored type, which new versions take from their bytes (content.media_types); the
    name only decides for versions stored before types were sniffed (no type recorded)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not ctype:
        return _by_name(name)
    if ctype in NATIVE_TYPES:
        return Preview(NATIVE_TYPES[ctype], "content", ctype)
    family = media_types.media_family(ctype)
    if family in {"video", "audio"}:
        return Preview(family, "rendition", f"{family}/mp4")
    if ctype in BROWSER_IMAGES:
        return Preview("image", "content")
    if ctype == "application/pdf":
        return Preview("pdf", "content", "application/pdf")
    if office.is_document(ctype):
        return Preview("pdf", "rendition", "application/pdf")
    if ctype.startswith("text/") or ctype in SHOWN_AS_TEXT:
        return Preview("text", "content", "text/plain")
    return Preview("none", "content")


def _by_name(name: str) -> Preview:  # noqa: PLR0911 - a decision table
    suffix = PurePosixPath(name.lower()).suffix
    if suffix in NATIVE_VIDEO:
        return Preview("video", "content", NATIVE_VIDEO[suffix])
    if suffix in NATIVE_AUDIO:
        return Preview("audio", "content", NATIVE_AUDIO[suffix])
    if suffix in CONVERTED_VIDEO:
        return Preview("video", "rendition", "video/mp4")
    if suffix in CONVERTED_AUDIO:
        return Preview("audio", "rendition", "audio/mp4")
    if suffix in IMAGES:
        return Preview("image", "content")
    if suffix == ".pdf":
        return Preview("pdf", "content", "application/pdf")
    if suffix in DOCUMENTS:
        return Preview("pdf", "rendition", "application/pdf")
    if suffix in TEXT:
        return Preview("text", "content", "text/plain")
    return Preview("none", "content")


MEDIA_KINDS = frozenset({"video", "audio", "image"})


def offer(name: str, content_type: str | None, status: PreviewStatus) -> tuple[Preview, str | None]:
    """The preview to offer and, when there is none for something that looks like media (by its name
    or its stored type), the reason to show: e.g. a playlist named `clip.mp4`, or a file ffmpeg refused."""
    preview = preview_kind(name, content_type)
    by_name = _by_name(name)
    looks_like_media = preview.kind in MEDIA_KINDS or by_name.kind in MEDIA_KINDS
    looks_like_media |= (preview.source, preview.kind) == (
        "rendition",
        "pdf",
    ) or by_name.source == "rendition"
    if status.state == "unsupported" and looks_like_media:
        return Preview("none", "content"), status.reason
    return preview, None
