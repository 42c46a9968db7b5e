"""Reading UK number plates: where a plate may be in a frame, what tesseract reads there, and whether
that is a UK registration.

The Russian-plate Haar cascade (looking.py) misses many UK plates, so candidate regions come from it
AND from the frame's shapes: a bright, filled rectangle shaped like a plate (a UK plate is 520 x 111
mm, 4.7 : 1; square plates, 2 : 1, are not looked for). Every candidate of a batch of frames is cut out,
enlarged to a common height, made black on white and stacked into one picture, so tesseract runs
once per batch (not once per candidate); its TSV output tells which line came from which candidate.
A line counts as a plate only when it is one of the UK formats below once the letters and digits
tesseract confuses are resolved by position (a digit where the format wants a letter is read as the
letter it looks like, and the reverse). Dateless and Northern Ireland plates are not read: their
formats match too many ordinary words. A person checks the timeline before any redaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.config import PreviewSettings, SkillSettings
from strongroom.skills.tools import must, run_tool

# The UK formats read, as regular expressions over the upper-case text with no spaces.
FORMATS = {
    "current": re.compile(r"[A-Z]{2}[0-9]{2}[A-Z]{3}"),  # 2001 on: AB12 CDE (area, age, random)
    "prefix": re.compile(r"[A-Z][0-9]{1,3}[A-Z]{3}"),  # 1983-2001: A123 BCD (age letter first)
    "suffix": re.compile(r"[A-Z]{3}[0-9]{1,3}[A-Z]"),  # 1963-1983: ABC 123D (age letter last)
}
# Look-alikes tesseract swaps, resolved by what the format wants at that position.
AS_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B"}
AS_DIGIT = {v: k for k, v in AS_LETTER.items()} | {"D": "0", "Q": "0"}
MAX_SWAPS = 2  # more and almost any short word "fits" a format
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

ASPECT = (2.5, 6.5)  # width / height of a candidate: a long plate seen a little from the side
MIN_WIDTH, MIN_HEIGHT = 60, 14  # pixels in the (at most 1280 wide) frame: smaller is unreadable
PER_FRAME = 12  # candidates read per frame, biggest first
LINE_HEIGHT = 64  # each candidate is scaled to this height for tesseract
GAP = 40  # white rows between candidates in the stacked picture
BATCH = 48  # candidates per tesseract run


@dataclass(frozen=True)
class Plate:
    text: str  # normalised: upper case, no spaces, look-alikes resolved
    shown: str  # as printed on a plate: "AB12 CDE"
    format: str


def _shapes(fmt: str) -> list[str]:
    """The letter/digit pattern of every length the format allows ("LLDDLLL" for current)."""
    if fmt == "current":
        return ["LLDDLLL"]
    if fmt == "prefix":
        return ["L" + "D" * n + "LLL" for n in (1, 2, 3)]
    return ["LLL" + "D" * n + "L" for n in (1, 2, 3)]


def read_plate(raw: str) -> Plate | None:
    """The UK registration `raw` spells (spaces and case ignored), or None. Of the formats it fits,
    the one needing the fewest look-alike swaps (at most MAX_SWAPS) wins, the newer format on a tie:
    "AB12CDE" is current, not prefix "A812CDE"."""
    text = "".join(ch for ch in raw.upper() if ch.isalnum())
    best: tuple[int, str, str] | None = None
    for fmt, pattern in FORMATS.items():
        for shape in _shapes(fmt):
            if len(shape) != len(text):
                continue
            fixed, swaps = [], 0
            for ch, want in zip(text, shape, strict=True):
                is_letter = ch.isalpha()
                if (want == "L") == is_letter:
                    fixed.append(ch)
                    continue
                swapped = (AS_LETTER if want == "L" else AS_DIGIT).get(ch)
                if swapped is None or swaps == MAX_SWAPS:
                    break
                fixed.append(swapped)
                swaps += 1
            else:
                candidate = "".join(fixed)
                if pattern.fullmatch(candidate) and (best is None or swaps < best[0]):
                    best = (swaps, candidate, fmt)
    if best is None:
        return None
    _, plate, fmt = best
    split = len(plate) - 3 if fmt != "suffix" else 3
    return Plate(text=plate, shown=f"{plate[:split]} {plate[split:]}", format=fmt)


def _shared(a: list[int], b: list[int]) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def overlap(a: list[int], b: list[int]) -> float:
    """Intersection over union of two boxes (0 to 1)."""
    shared = _shared(a, b)
    return shared / (a[2] * a[3] + b[2] * b[3] - shared)


def same_place(a: list[int], b: list[int]) -> bool:
    """Whether most of the smaller box lies in the other: the same plate, boxed tightly or loosely."""
    return _shared(a, b) > 0.6 * min(a[2] * a[3], b[2] * b[3])


def candidates(image: Any, cascade_boxes: list[list[int]]) -> list[list[int]]:
    """Boxes [x, y, w, h] where a plate may be: the cascade's, and bright filled plate-shaped
    rectangles found by Otsu thresholding and by edges."""
    import cv2
    import numpy as np

    height, width = image.shape[:2]
    blurred = cv2.GaussianBlur(image, (5, 5), 0)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    edges = cv2.dilate(cv2.Canny(blurred, 50, 150), np.ones((3, 3), np.uint8))
    found: list[tuple[int, list[int]]] = []
    for mask in (bright, edges):
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, w, h = (int(v) for v in cv2.boundingRect(contour))
            if w < MIN_WIDTH or h < MIN_HEIGHT or w > 0.9 * width or h > 0.5 * height:
                continue
            if not ASPECT[0] <= w / h <= ASPECT[1] or cv2.contourArea(contour) < 0.6 * w * h:
                continue
            found.append((w * h, [x, y, w, h]))
    found.sort(key=lambda item: -item[0])
    boxes: list[list[int]] = [list(b) for b in cascade_boxes]
    for _, box in found:
        if all(
            overlap(box, kept) < 0.7 for kept in boxes
        ):  # a tight box inside the cascade's loose one is read too
            boxes.append(box)
    return boxes[:PER_FRAME]


def cut(image: Any, box: list[int]) -> Any:
    """The candidate cut out of the frame, LINE_HEIGHT high, black characters on white (or None)."""
    import cv2

    x, y, w, h = box
    inset = max(2, h // 12)  # a plate's own border would be read as an I or a 1
    crop = image[y + inset : y + h - inset, x + inset : x + w - inset]
    if crop.size == 0:
        return None
    scale = LINE_HEIGHT / crop.shape[0]
    crop = cv2.resize(crop, (max(1, int(crop.shape[1] * scale)), LINE_HEIGHT), interpolation=cv2.INTER_CUBIC)
    _, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if ink.mean() < 128:  # light characters on a dark ground: make them dark on light
        ink = 255 - ink
    return ink


def read(
    lines: list[Any], *, cwd: Path, limits: PreviewSettings, settings: SkillSettings
) -> list[Plate | None]:
    """What each cut-out candidate reads as, with tesseract run once for all of them (up to BATCH)."""
    import cv2
    import numpy as np

    widest = max((line.shape[1] for line in lines if line is not None), default=0)
    if not widest:
        return [None] * len(lines)
    rows, tops = [], []
    sheet_width = widest + 2 * GAP
    y = GAP
    rows.append(np.full((GAP, sheet_width), 255, np.uint8))
    for line in lines:
        tops.append(y)
        row = np.full((LINE_HEIGHT + GAP, sheet_width), 255, np.uint8)
        if line is not None:
            row[:LINE_HEIGHT, GAP : GAP + line.shape[1]] = line
        rows.append(row)
        y += LINE_HEIGHT + GAP
    sheet = cwd / "plates.png"
    cv2.imwrite(str(sheet), np.vstack(rows))
    command = ["tesseract", str(sheet), "stdout", "-l", "eng", "--psm", "6"]
    command += ["-c", f"tessedit_char_whitelist={ALPHABET}", "tsv"]
    tsv = must(
        run_tool(command, cwd=cwd, limits=limits, timeout=settings.timeout_seconds, what="tesseract (plates)")
    )
    words: list[list[str]] = [[] for _ in lines]
    for row_text in tsv.decode("utf-8", errors="replace").splitlines()[1:]:
        cells = row_text.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        middle = int(cells[7]) + int(cells[9]) // 2
        index = (middle - GAP) // (LINE_HEIGHT + GAP)
        if 0 <= index < len(lines):
            words[index].append(cells[11].strip())
    return [_best(tokens) for tokens in words]


BORDER_MARKS = "I1L"  # what the edge of a plate, or its border, is read as


def _best(tokens: list[str]) -> Plate | None:
    """A plate spelt by up to three neighbouring words of a line, maybe with the plate's edge read as
    a stray I or 1 at either end."""
    for size in (1, 2, 3):
        for start in range(len(tokens) - size + 1):
            joined = "".join(tokens[start : start + size])
            for text in (joined, joined[1:], joined[:-1], joined[1:-1]):
                if text and text != joined and not _only_edges_dropped(joined, text):
                    continue
                plate = read_plate(text)
                if plate is not None:
                    return plate
    return None


def _only_edges_dropped(joined: str, text: str) -> bool:
    at = joined.find(text)
    dropped = joined[:at] + joined[at + len(text) :]
    return all(ch in BORDER_MARKS for ch in dropped)
