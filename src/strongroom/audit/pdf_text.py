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
_Row = tuple[str, float, str]  # a line to draw: font style, indent in mm, text


class PlainTextPDF(FPDF):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Arabic and other joined scripts need HarfBuzz to shape and order their letters.
        self.can_shape = importlib.util.find_spec("uharfbuzz") is not None
        self._gaps: dict[int, frozenset[str]] = {}  # per font: characters below SHAPED_FROM it lacks
        self._encoders: dict[int, _Encoder] = {}  # per font: character -> its code as written

    def _gaps_of(self, font: TTFFont) -> frozenset[str]:
        gaps = self._gaps.get(font.i)
        if gaps is None:
            gaps = frozenset(chr(c) for c in range(0x20, ord(SHAPED_FROM)) if c not in font.cmap)
            self._gaps[font.i] = gaps
        return gaps

    def _is_plain(self, font: TTFFont, text: str) -> bool:
        """One line that needs no shaping and no font but `font`: it can be written in one step."""
        return (
            "\n" not in text
            and not (text and max(text) >= SHAPED_FROM)
            and not self._gaps_of(font).intersection(text)
        )

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

    def plain_width(self, text: str) -> float:
        """What get_string_width says (fpdf2 measures the page-count alias as "000"), without its
        text fragments when no shaping or fallback font is on: the footer of every page asks."""
        font = self.current_font
        if self.text_shaping or self._fallback_font_ids or not isinstance(font, TTFFont):
            return self.get_string_width(text)
        widths: dict[int, float] = font.cw
        return sum(map(widths.__getitem__, map(ord, text))) * self.font_size_pt * 0.001 / self.k

    def _add_cjk(self) -> bool:
        if CJK in self.fonts:
            return True
        for path in CJK_FALLBACKS:
            if path.is_file():
                self.add_font(CJK, "", str(path))
                self.add_font(CJK, "B", str(path))
                return True
        return False

    def draw_plain(self, family: str, size: float, height: float, rows: list[_Row]) -> bool:
        """Draw lines of (style, indent, text) one under another, `height` apart, where
        multi_cell(0, height, text) at that indent would put them, page breaks included, if each is
        plain text that fits its width; if not, draw nothing and say so."""
        per_mm = self.k * 1000 / size  # font units per mm at this size
        room = self.epw - 2 * self.c_margin
        for style, indent, text in rows:
            font = self.fonts[family + style]
            assert isinstance(font, TTFFont)
            if not self._is_plain(font, text):
                return False
            widths: dict[int, float] = font.cw
            if sum(map(widths.__getitem__, map(ord, text))) > (room - indent) * per_mm:
                return False
        if self.text_color != self.fill_color or not self._draw_block(family, size, height, rows):
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

    def draw_plain_centred(self, family: str, size: float, height: float, text: str) -> bool:
        """One line of plain text centred on the page at the current y, in the current colour, where
        cell(0, height, text, align="C") would put it; if it is not plain or does not fit, draw
        nothing and say so."""
        font = self.fonts[family]
        assert isinstance(font, TTFFont)
        if not self._is_plain(font, text):
            return False
        self.set_font(family, "", size)
        width = self.plain_width(text)
        if width > self.epw - 2 * self.c_margin:
            return False
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))
        x = self.l_margin + (self.epw - width) / 2
        baseline = self.y + 0.5 * height + 0.3 * self.font_size
        colour = self.text_color
        colour_op = "" if colour is None or colour == self.fill_color else f"{colour.serialize().lower()} "
        self._out(
            f"q BT {x * self.k:.2f} {(self.h - baseline) * self.k:.2f} Td "
            f"{colour_op}({text.translate(self._encoder(font))}) Tj ET Q"
        )
        return True

    def _draw_block(self, family: str, size: float, height: float, rows: list[_Row]) -> bool:
        """The lines of `draw_plain` as one write to the page, byte for byte what `_plain_text` would
        write line by line, when they all fit on this page; if not, draw nothing and say so. One
        string per event instead of an fpdf call per line: the report writes 50,000 lines for
        10,000 events."""
        y, tops = self.y, []
        for _ in rows:
            if y + height > self.page_break_trigger:  # as will_page_break, with the same sums
                return False
            tops.append(y)
            y = y + height
        k, page_height, parts = self.k, self.h, []
        for (style, indent, text), top in zip(rows, tops, strict=True):
            if style != self.font_style or self.font_family != family or self.font_size_pt != size:
                self.set_font(family, style, size)
            font = self.current_font
            assert isinstance(font, TTFFont)
            if not self.current_font_is_set_on_page:
                parts.append(self._set_font_for_page(font, self.font_size_pt))
            x = self.l_margin + indent + self.c_margin
            baseline = top + 0.5 * height + 0.3 * self.font_size
            encoder = self._encoder(font)
            parts.append(
                f"BT {x * k:.2f} {(page_height - baseline) * k:.2f} Td ({text.translate(encoder)}) Tj ET"
            )
        self._out("\n".join(parts))
        self.set_y(y)
        return True

    def _encoder(self, font: TTFFont) -> _Encoder:
        encoder = self._encoders.get(font.i)
        if encoder is None:
            encoder = self._encoders[font.i] = _Encoder(font)
        return encoder

    def _plain_text(self, x: float, y: float, text: str) -> None:
        """`text()` without its per-character encoding loop, for plain text."""
        font = self.current_font
        assert isinstance(font, TTFFont)
        if self.text_color != self.fill_color:
            self.text(x, y, text)  # text() sets the colour; this draws in the current one
            return
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))
        encoder = self._encoder(font)
        encoded = text.translate(encoder)
        self._out(f"BT {x * self.k:.2f} {(self.h - y) * self.k:.2f} Td ({encoded}) Tj ET")


class _Encoder(dict[int, str]):
    """A `str.translate` table from a character to its glyph code in the font's subset as
    `escape_text` writes it (UTF-16BE read as Latin-1, parentheses and backslashes escaped): one C
    call per line instead of a Python step per character. A character is added to the subset the
    first time it is written; one without a glyph is left out, as `text()` does."""

    def __init__(self, font: TTFFont) -> None:
        super().__init__()
        self.font = font

    def __missing__(self, character: int) -> str:
        code = self.font.subset.pick(character)
        written = "" if code is None else self.font.escape_text(chr(code))
        self[character] = written
        return written
