"""RFC 9457 problem details: the body of every error answer on the HTTP doors (REST, tus, shared links).

    {"type": "/api/v1/problems/name_taken", "title": "Name taken", "status": 409,
     "detail": "A file named x.pdf is already here.", "code": "name_taken",
     "message": "A file named x.pdf is already here.", "details": {...}}

`code` stays the stable member clients switch on (errors.py); `message` repeats `detail` for the
clients written before problem details. `type` is a relative reference (RFC 9457 §3.1.1) to
GET /api/v1/problems/<code>, which describes the problem in words. Served as
application/problem+json.
"""

from __future__ import annotations

import re
from typing import Final

from strongroom import errors

PROBLEM_JSON: Final = "application/problem+json"
TYPE_PREFIX: Final = "/api/v1/problems/"

# Codes raised by the doors themselves rather than errors.py.
_DOOR_CODES: Final = {
    "method_not_allowed": "The resource exists but does not answer this HTTP method.",
    "http_error": "The HTTP request could not be served as sent.",
    "csrf_failed": "A browser request that changes something lacked its session's X-CSRF-Token header.",
    "checksum_mismatch": "A tus chunk did not match the Upload-Checksum sent with it; it was discarded.",
    "tus_version": "The client spoke a tus version other than 1.0.0.",
}
_LINE = re.compile(r"^\s*[x+]\s+\w+\s+([a-z_]+)\s*(.*)$")


def _described() -> dict[str, str]:
    """code -> description, from the table in errors.py's docstring (one source for both)."""
    found = dict(_DOOR_CODES)
    for line in (errors.__doc__ or "").splitlines():
        match = _LINE.match(line)
        if match is not None:
            found[match.group(1)] = match.group(2).strip() or title_of(match.group(1)) + "."
    return found


def title_of(code: str) -> str:
    """A short summary of the problem type: the same for every occurrence of one code (RFC 9457 §3.1.3)."""
    return code.replace("_", " ").capitalize()


def problem(status: int, code: str, message: str, **data: object) -> dict[str, object]:
    body: dict[str, object] = {
        "type": TYPE_PREFIX + code,
        "title": title_of(code),
        "status": status,
        "detail": message,
        "code": code,
        "message": message,
    }
    if data:
        body["details"] = data
    return body


def describe(code: str) -> dict[str, str] | None:
    """The problem type's documentation, or None for a code Strongroom never answers with."""
    described = DESCRIBED.get(code)
    if described is None:
        return None
    return {"type": TYPE_PREFIX + code, "code": code, "title": title_of(code), "description": described}


DESCRIBED: Final = _described()
