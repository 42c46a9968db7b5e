"""Text that people type and the audit trail keeps: reasons, e-mail addresses, names, form fields.

Audit text is untrusted. A CR/LF in a reason could forge a whole record in a line-based export
(syslog), and a bidirectional override (U+202E) makes "exe.pdf" read as "fdp.exe" to the person
checking a report. So such characters are refused where the text comes in (`refuse_unsafe`,
400 `unsafe_text`), and every export escapes them anyway (`escape_line_breakers`): events written
before the rule, and text that cannot be refused (a user agent, an address typed at the sign-in
form), still give one line per event.

Refused: Unicode control characters (category Cc: C0, DEL, C1, including TAB, CR, LF, NEL), the
line and paragraph separators (U+2028, U+2029) and the bidirectional formatting characters
(U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069).
"""

from __future__ import annotations

import re
import unicodedata

from strongroom.errors import UnsafeText

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_SEPARATORS = frozenset("\u2028\u2029")
# What `escape_line_breakers` rewrites: every C0/C1 control and DEL, the separators, the bidi controls.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]")


def unsafe_characters(text: str, *, allow: str = "") -> list[str]:
    """The unsafe characters in `text` (but those in `allow`), as U+XXXX, in order of first appearance."""
    found: dict[str, None] = {}
    for ch in text:
        if ch in allow:
            continue
        if unicodedata.category(ch) == "Cc" or ch in _LINE_SEPARATORS or ch in BIDI_CONTROLS:
            found[f"U+{ord(ch):04X}"] = None
    return list(found)


def refuse_unsafe(text: str, *, field: str, what: str, multiline: bool = False) -> str:
    """Return `text` if it holds no control, separator or bidi character; else raise UnsafeText
    naming the field (`what` is its name in the users' words, e.g. "The reason"). A `multiline` field
    (a text area) may hold line feeds; CR LF comes back as LF."""
    if multiline:
        text = text.replace("\r\n", "\n")
    found = unsafe_characters(text, allow="\n" if multiline else "")
    if found:
        raise UnsafeText(
            f"{what} contains control or text-direction characters ({', '.join(found[:5])}),"
            " which are not allowed: retype it without them.",
            field=field,
            characters=found,
        )
    return text


def escape_line_breakers(serialised: str) -> str:
    """Rewrite every unsafe character of already-serialised JSON as its \\uXXXX escape.

    json.dumps with ensure_ascii=False leaves DEL, C1 controls (NEL breaks lines for some readers),
    U+2028/U+2029 and bidi controls as they are; inside a JSON string the escape means the same value,
    so a reader gets exactly the text that was hashed, and the line stays one line."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", serialised)
