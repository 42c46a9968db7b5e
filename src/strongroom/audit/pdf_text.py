"""Text in the audit PDFs at the speed of plain text, with HarfBuzz and a CJK font where needed.

fpdf2 lays text out character by character: with text shaping on (HarfBuzz, needed for Arabic and
other joined scripts) or a fallback font set, about 9 ms of CPU per event of a custody report, 90 s
for an item with 10,000 events; on its plain path about 1 ms a line, because its line breaking
re-measures the line so far at every character. So shaping and the fallback font are switched on
only for the text that needs them (`prepare_for`), and short plain lines are measured once and
written with the same operators `text()` writes (`draw_plain`). A character no font here can draw is
written as its code point, "[U+02EA]": fpdf2 would leave it out, and a name missing a character could
read as another's. fpdf2 is pinned in constraints.txt;
tests/audit/test_custody_pdf*.py read the reports back, in several scripts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import TTFFont

# Names in Chinese, Japanese or Korean need a CJK font; DejaVu has none. Used when installed.
CJK_FALLBACKS = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
CJK = "cjk"
# Text below this (Latin and IPA) needs neither shaping nor any font but DejaVu.
SHAPED_FROM = "\u0300"


class PlainTextPDF(FPDF):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Arabic and other joined scripts need HarfBuzz to shape and order their letters.
        self.can_shape = importlib.util.find_spec("uharfbuzz") is not None
        self._codes: dict[int, dict[int, str]] = {}  # per font: character -> its code in the subset
        self._gaps: dict[int, frozenset[str]] = {}  # per font: characters below SHAPED_FROM it lacks

    def _gaps_of(self, font: TTFFont) -> frozenset[str]:
        gaps = self._gaps.get(font.i)
        if gaps is None:
            gaps = frozenset(chr(c) for c in range(0x20, ord(SHAPED_FROM)) if c not in font.cmap)
            self._gaps[font.i] = gaps
        return gaps

    def prepare_for(self, text: str) -> str:
        """Shape, and fall back to the CJK font, only if `text` needs it in the current font. Returns
        the text to draw: a character no font here has is written as its code point."""
        font = self.current_font
        assert isinstance(font, TTFFont)
        high = bool(text) and max(text) >= SHAPED_FROM
        missing = set(self._gaps_of(font).intersection(text))
        if high:
            missing |= {c for c in text if c >= SHAPED_FROM and ord(c) not in font.cmap}
        shape = high and self.can_shape
        if shape != (self.text_shaping is not None):
            self.set_text_shaping(use_shaping_engine=shape)
        fallback = bool(missing) and self._add_cjk()
        if fallback and not self._fallback_font_ids:
            self.set_fallback_fonts([CJK], exact_match=False)
        elif not fallback and self._fallback_font_ids:
            self.set_fallback_fonts([], exact_match=False)
        if fallback:
            cjk = self.fonts[CJK]
            assert isinstance(cjk, TTFFont)
            missing = {c for c in missing if ord(c) not in cjk.cmap}
        if not missing:
            return text
        return "".join(f"[U+{ord(c):04X}]" if c in missing else c for c in text)

    def _add_cjk(self) -> bool:
        if CJK in self.fonts:
            return True
        for path in CJK_FALLBACKS:
            if path.is_file():
                self.add_font(CJK, "", str(path))
                self.add_font(CJK, "B", str(path))
                return True
        return False

    def draw_plain(self, family: str, size: float, height: float, rows: list[tuple[str, float, str]]) -> bool:
        """Draw lines of (style, indent, text) one under another, `height` apart, where
        multi_cell(0, height, text) at that indent would put them, page breaks included, if each is
        plain text that fits its width; if not, draw nothing and say so."""
        per_mm = self.k * 1000 / size  # font units per mm at this size
        room = self.epw - 2 * self.c_margin
        for style, indent, text in rows:
            font = self.fonts[family + style]
            assert isinstance(font, TTFFont)
            if "\n" in text or (text and max(text) >= SHAPED_FROM) or self._gaps_of(font).intersection(text):
                return False
            widths: dict[int, float] = font.cw
            if sum(map(widths.__getitem__, map(ord, text))) > (room - indent) * per_mm:
                return False
        for style, indent, text in rows:
            if style != self.font_style or self.font_family != family or self.font_size_pt != size:
                self.set_font(family, style, size)
            if self.will_page_break(height):
                self.add_page()
            self._plain_text(
                self.l_margin + indent + self.c_margin, self.y + 0.5 * height + 0.3 * self.font_size, text
            )
            self.set_y(self.y + height)
        return True

    def _plain_text(self, x: float, y: float, text: str) -> None:
        """`text()` without its per-character encoding loop, for plain text."""
        font = self.current_font
        assert isinstance(font, TTFFont)
        if self.text_color != self.fill_color:
            self.text(x, y, text)  # text() sets the colour; this draws in the current one
            return
        codes = self._codes.setdefault(font.i, {})
        for new in {*map(ord, text)}.difference(codes):
            code = font.subset.pick(new)
            codes[new] = "" if code is None else chr(code)  # no glyph: left out, as text() does
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))
        encoded = font.escape_text(text.translate(codes))
        self._out(f"BT {x * self.k:.2f} {(self.h - y) * self.k:.2f} Td ({encoded}) Tj ET")
