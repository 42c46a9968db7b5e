"""Which strings are UK registrations, once tesseract's look-alike letters and digits are resolved;
and plates found and read by their shape alone, where the Russian-plate cascade finds nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from strongroom.config import PreviewSettings, SkillSettings
from strongroom.skills import plates
from strongroom.skills.plates import read_plate
from tests.skills import media


@pytest.mark.parametrize(
    ("raw", "text", "shown", "fmt"),
    [
        ("AB12 CDE", "AB12CDE", "AB12 CDE", "current"),
        ("ab12cde", "AB12CDE", "AB12 CDE", "current"),
        ("AB1Z CDE", "AB12CDE", "AB12 CDE", "current"),  # Z where the format wants a digit
        ("A8I2 CDE", "A812CDE", "A812 CDE", "prefix"),  # fewest swaps wins: one (I) here, two as current
        ("BD5I SMR", "BD51SMR", "BD51 SMR", "current"),
        ("0E07 XYZ", "OE07XYZ", "OE07 XYZ", "current"),
        ("K123 LMN", "K123LMN", "K123 LMN", "prefix"),
        ("P7 ABC", "P7ABC", "P7 ABC", "prefix"),
        ("ABC 123D", "ABC123D", "ABC 123D", "suffix"),
        ("XYZ 1Y", "XYZ1Y", "XYZ 1Y", "suffix"),
    ],
)
def test_uk_formats_are_read_and_normalised(raw: str, text: str, shown: str, fmt: str) -> None:
    plate = read_plate(raw)
    assert plate is not None, raw
    assert (plate.text, plate.shown, plate.format) == (text, shown, fmt)


@pytest.mark.parametrize(
    "raw", ["HELLO WORLD", "POLICE", "A123BC77", "1234 AB", "", "AB12", "ABCDEFG", "WITNESS"]
)
def test_other_text_is_not_a_plate(raw: str) -> None:
    assert read_plate(raw) is None


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract-ocr")
@pytest.mark.parametrize(
    ("text", "colour", "width", "expected"),
    [
        ("AB12 CDE", "#ffcc00", 300, "AB12CDE"),  # rear: yellow
        ("BD51 SMR", "white", 150, "BD51SMR"),  # front: white, small (32 pixels high)
        ("ABC 123D", "#ffcc00", 400, "ABC123D"),
        ("HELLO WORLD", "white", 400, None),  # plate-shaped, but no UK registration
    ],
)
def test_a_plate_is_found_by_its_shape_and_read_without_the_cascade(
    tmp_path: Path, text: str, colour: str, width: int, expected: str | None
) -> None:
    import cv2

    media.uk_plate_scene(tmp_path / "car.png", text, colour=colour, width=width)
    image = cv2.imread(str(tmp_path / "car.png"), cv2.IMREAD_GRAYSCALE)
    boxes = plates.candidates(image, [])  # as if the cascade had missed it
    read = plates.read(
        [plates.cut(image, box) for box in boxes],
        cwd=tmp_path,
        limits=PreviewSettings(),
        settings=SkillSettings(),
    )
    found = {(plate.text, tuple(box)) for box, plate in zip(boxes, read, strict=True) if plate is not None}
    assert [t for t, _ in found] == ([expected] if expected else [])
    plate_centre = (490 + width // 2, 480 + width * 111 // 520 // 2)
    for _, (x, y, w, h) in found:
        assert x < plate_centre[0] < x + w
        assert y < plate_centre[1] < y + h
