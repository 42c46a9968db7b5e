"""Whole numbers from the outside world (headers, query parameters, paging markers), parsed strictly.

`str.isdigit()` and `int()` are both too lenient for protocol fields: `"²".isdigit()` is true and
`int("²")` then fails, `int()` takes `"١٢"`, `" 5"`, `"+5"` and `"5_0"`, and a thousand-digit number
overflows every database column. Every door parses numbers here instead: ASCII digits only, no sign,
no spaces, at most 19 of them (so the value always fits a signed 64-bit column).
"""

from typing import Annotated, Final

from pydantic import BeforeValidator

from strongroom.errors import InputError

MAX_DIGITS: Final = 19
MAX_COUNT: Final = 2**63 - 1
_ASCII_DIGITS: Final = frozenset("0123456789")


def parse_count(raw: str | None) -> int | None:
    """`raw` as a non-negative integer, or None unless it is 1 to 19 ASCII digits and at most MAX_COUNT."""
    if raw is None or not 0 < len(raw) <= MAX_DIGITS or not _ASCII_DIGITS.issuperset(raw):
        return None
    value = int(raw)
    return value if value <= MAX_COUNT else None


def require_count(raw: str | None, *, field: str) -> int:
    """`raw` as a non-negative integer. Raises InputError (naming `field`) for anything else."""
    value = parse_count(raw)
    if value is None:
        raise InputError(
            f"{field} must be a whole number written with the digits 0-9 (at most {MAX_DIGITS} of them).",
            field=field,
        )
    return value


def _strict(value: object) -> object:
    # Only text is re-checked: defaults and values set in code are already ints.
    if isinstance(value, str) and parse_count(value) is None:
        msg = f"must be a whole number written with the digits 0-9 (at most {MAX_DIGITS} of them)"
        raise ValueError(msg)
    return value


StrictCount = Annotated[int, BeforeValidator(_strict)]
"""A pydantic field or query parameter holding a count, parsed like `parse_count` (400 otherwise)."""
