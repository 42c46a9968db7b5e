"""Name rules for files and folders: one place, used by every door."""

import unicodedata

from strongroom.audit.text import unsafe_characters
from strongroom.errors import NameInvalid

MAX_NAME_BYTES = 255


def clean_name(raw: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """The stored form of a name (NFC). Raises NameInvalid with the reason a user can act on."""
    name = unicodedata.normalize("NFC", raw)
    if not name.strip():
        raise NameInvalid("A name cannot be empty.")
    if name in {".", ".."}:
        raise NameInvalid(f"{name!r} is not allowed as a name.")
    if "/" in name:
        raise NameInvalid("Names cannot contain '/'.")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise NameInvalid("Names cannot contain control characters (including NUL).")
    if unsafe_characters(name):
        # Line separators and bidi overrides: "exe.pdf" must not read as "fdp.exe" in a report.
        raise NameInvalid("Names cannot contain line separators or text-direction characters.")
    if len(name.encode()) > max_bytes:
        raise NameInvalid(f"Names are limited to {max_bytes} bytes in UTF-8.", limit=max_bytes)
    if name != name.strip():
        raise NameInvalid("Names cannot start or end with spaces.")
    return name


def name_key(name: str) -> str:
    """Names are unique per folder by this key: NFC, case-folded."""
    return unicodedata.normalize("NFC", name).casefold()
