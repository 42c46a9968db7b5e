"""The stated reason for consulting or disclosing classified material (recorded in the event's
`reason`). Which classifications need one is configuration (`[audit] reason_required_for`); the
services that read or disclose content ask here."""

from collections.abc import Collection
from urllib.parse import unquote

from strongroom.errors import InputError, ReasonRequired

MAX_REASON_CHARS = 1000
HEADER = "X-Strongroom-Reason"


def clean_reason(raw: str | None) -> str | None:
    """A reason as sent by a client: percent-decoded (HTTP headers are Latin-1, reasons need not be),
    trimmed, and within the length limit. Empty means none. Raises InputError when too long."""
    if raw is None:
        return None
    reason = unquote(raw).strip()
    if len(reason) > MAX_REASON_CHARS:
        raise InputError(f"The reason is longer than {MAX_REASON_CHARS} characters.", limit=MAX_REASON_CHARS)
    return reason or None


def require_reason(*, classification: str | None, reason: str | None, required_for: Collection[str]) -> None:
    """Raise ReasonRequired if material of this classification needs a reason and none was given."""
    if reason is None and classification is not None and classification in required_for:
        raise ReasonRequired(
            f"Material classified {classification} needs a reason: send it in the {HEADER} header.",
            classification=classification,
            header=HEADER,
        )
