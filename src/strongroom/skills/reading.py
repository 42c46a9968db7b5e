"""Skills that read: text from plain text, PDF and office documents; OCR of images and scanned PDFs.

Documents go through LibreOffice into a PDF (content/office.py, locked down, its import filter forced
from what the bytes prove), then poppler's pdftotext, so no document parser runs in this process.
A PDF with (almost) no text layer is a scan: the OCR skill draws its pages with pdftoppm and reads
them with tesseract; the text skill leaves it to OCR and says so.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from strongroom.config import PreviewSettings, SkillSettings
from strongroom.content import media_types, office
from strongroom.content.transcoding import Refused
from strongroom.skills.tools import NothingToRead, SkillFailed, ffmpeg, must, run_tool

PLAIN_TEXT_BYTES = 20 << 20  # more is not a statement but a dump; the rest is left unread
SCANNED_BELOW = 16  # characters per page under which a PDF page is taken for a scan
KEYWORDS = 25
_WORD = re.compile(r"[^\W\d_][\w'\u2019-]{2,}", re.UNICODE)
_STOP = frozenset(
    (
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "all",
        "any",
        "can",
        "had",
        "her",
        "was",
        "one",
        "our",
        "out",
        "day",
        "get",
        "has",
        "him",
        "his",
        "how",
        "man",
        "new",
        "now",
        "old",
        "see",
        "two",
        "way",
        "who",
        "boy",
        "did",
        "its",
        "let",
        "put",
        "say",
        "she",
        "too",
        "use",
        "that",
        "with",
        "have",
        "this",
        "will",
        "your",
        "from",
        "they",
        "know",
        "want",
        "been",
        "good",
        "much",
        "some",
        "time",
        "very",
        "when",
        "come",
        "here",
        "just",
        "like",
        "long",
        "make",
        "many",
        "more",
        "only",
        "over",
        "such",
        "take",
        "than",
        "them",
        "well",
        "were",
        "what",
        "into",
        "which",
        "their",
        "there",
        "would",
        "about",
        "could",
        "other",
        "these",
        "those",
        "then",
        "also",
        "because",
        "while",
        "where",
        "after",
        "before",
        "should",
        "being",
        "under",
        "again",
        "further",
        "once",
    )
)


def keywords(text: str, *, limit: int = KEYWORDS) -> list[dict[str, Any]]:
    """The most frequent meaningful words, most frequent first (ties: first seen first)."""
    counts = Counter(w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP)
    return [{"word": word, "count": count} for word, count in counts.most_common(limit)]


def pdf_text(pdf: Path, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings) -> list[str]:
    """The text of each page of a PDF, from its text layer (pdftotext, form feeds between pages)."""
    out = must(
        run_tool(
            ["pdftotext", "-enc", "UTF-8", "-l", str(settings.max_pages), str(pdf), "-"],
            cwd=cwd,
            limits=limits,
            timeout=settings.timeout_seconds,
            what="pdftotext",
        )
    )
    pages = out.decode("utf-8", errors="replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def is_scan(pages: list[str]) -> bool:
    return sum(len(p.strip()) for p in pages) < SCANNED_BELOW * max(len(pages), 1)


def read_text(
    plain: Path, content_type: str | None, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings
) -> tuple[list[str], str]:
    """(pages of text, how it was read) for plain text, a PDF or an office document."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "text/plain":
        with plain.open("rb") as data:
            return [data.read(PLAIN_TEXT_BYTES).decode("utf-8", errors="replace")], "plain text"
    if kind == "application/pdf":
        pages = pdf_text(plain, cwd=cwd, limits=limits, settings=settings)
        if is_scan(pages):
            raise NothingToRead("The PDF has no text layer (a scan): its text is read by OCR instead.")
        return pages, "pdftotext (poppler)"
    if office.is_document(kind):
        pdf = office.document_to_pdf(source=plain, content_type=kind, work=cwd / "lo", settings=limits)
        if isinstance(pdf, Refused):
            raise SkillFailed(pdf.reason)
        return pdf_text(pdf, cwd=cwd, limits=limits, settings=settings), "LibreOffice and pdftotext"
    raise SkillFailed(f"The file is {media_types.describe(kind or None)}: there is no text to read.")


def _tesseract(image: Path, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings) -> str:
    out = run_tool(
        ["tesseract", str(image), "stdout", "-l", settings.ocr_languages, "--psm", "3"],
        cwd=cwd,
        limits=limits,
        timeout=settings.timeout_seconds,
        what="tesseract (OCR)",
    )
    return must(out).decode("utf-8", errors="replace")


def ocr(plain: Path, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings) -> tuple[list[str], str]:
    """(pages of text read by tesseract, a note) for an image or a scanned PDF."""
    with plain.open("rb") as data:
        sniffed = media_types.sniff(data.read(media_types.HEAD_BYTES))
    if sniffed == "application/pdf":
        if not is_scan(pdf_text(plain, cwd=cwd, limits=limits, settings=settings)):
            raise NothingToRead("The PDF has a text layer: its text is read directly, not by OCR.")
        pages_dir = cwd / "pages"
        pages_dir.mkdir()
        command = ["pdftoppm", "-r", "300", "-gray", "-png", "-l", str(settings.max_pages)]
        must(
            run_tool(
                [*command, str(plain), str(pages_dir / "page")],
                cwd=cwd,
                limits=limits,
                timeout=settings.timeout_seconds,
                what="pdftoppm",
            )
        )
        images = sorted(pages_dir.glob("page*.png"))
        texts = [_tesseract(i, cwd=cwd, limits=limits, settings=settings) for i in images]
        return texts, f"{len(images)} pages drawn at 300 dpi"
    if media_types.media_family(sniffed) != "image" or sniffed is None:
        raise SkillFailed(f"The file is {media_types.describe(sniffed)}: not an image or a scanned PDF.")
    # ffmpeg (forced demuxer, file protocol only) turns any image into a plain greyscale PNG, so
    # tesseract's image libraries only ever see a file ffmpeg wrote.
    target = cwd / "page.png"
    output = ["-frames:v", "1", "-vf", "format=gray", f"file:{target.resolve()}"]
    ffmpeg(
        sniffed=sniffed, source=plain, output=output, cwd=cwd, limits=limits, timeout=settings.timeout_seconds
    )
    return [_tesseract(target, cwd=cwd, limits=limits, settings=settings)], "one image"
