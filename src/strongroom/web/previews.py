"""Which preview the staff UI offers for a file, decided by its name and stored type.

Browsers play MP4/WebM/Ogg video and MP3/AAC/WAV/Ogg/Opus/FLAC audio natively; other media (AVI,
MKV, MOV, WMA, AMR, G.729 call recordings...) play from the rendition the background job converts
with ffmpeg. HTML, SVG and XML are shown as text, never rendered: in our origin they could run script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

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
MAX_TEXT_PREVIEW_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Preview:
    kind: str  # "video" | "audio" | "image" | "pdf" | "text" | "none"
    source: str  # "content" (the original bytes) or "rendition" (converted by the background job)
    mime: str | None = None


def preview_kind(name: str, content_type: str | None) -> Preview:  # noqa: PLR0911 - a decision table
    suffix = PurePosixPath(name.lower()).suffix
    ctype = (content_type or "").split(";")[0].strip().lower()
    if suffix in NATIVE_VIDEO:
        return Preview("video", "content", NATIVE_VIDEO[suffix])
    if suffix in NATIVE_AUDIO:
        return Preview("audio", "content", NATIVE_AUDIO[suffix])
    if suffix in CONVERTED_VIDEO or (ctype.startswith("video/") and suffix not in TEXT):
        return Preview("video", "rendition", "video/mp4")
    if suffix in CONVERTED_AUDIO or (ctype.startswith("audio/") and suffix not in TEXT):
        return Preview("audio", "rendition", "audio/mp4")
    if suffix in IMAGES:
        return Preview("image", "content")
    if suffix == ".pdf" or ctype == "application/pdf":
        return Preview("pdf", "content", "application/pdf")
    if suffix in TEXT or ctype.startswith("text/"):
        return Preview("text", "content", "text/plain")
    return Preview("none", "content")
