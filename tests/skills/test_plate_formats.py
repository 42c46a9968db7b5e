"""Which strings are UK registrations, once tesseract's look-alike letters and digits are resolved."""

from __future__ import annotations

import pytest

from strongroom.skills.plates import read_plate


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
