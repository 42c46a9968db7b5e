"""The stated reason for consulting or disclosing classified material, and for every read of the
audit trail itself (recorded in the event's `reason`). Which classifications need one is
configuration (`[audit] reason_required_for`); the services that read or disclose content ask here.
Reads of the audit trail always need one (`require_audit_reason`)."""

from collections.abc import Collection
from urllib.parse import unquote

from strongroom.audit.text import refuse_unsafe
from strongroom.errors import InputError, ReasonRequired

MAX_REASON_CHARS = 1000
HEADER = "X-Strongroom-Reason"


def clean_reason(raw: str | None, *, percent_encoded: bool = True) -> str | None:
    """A reason as sent by a client: percent-decoded (HTTP headers are Latin-1, reasons need not be),
    trimmed, within the length limit and free of control and text-direction characters. Empty means
    none. Raises InputError when too long, UnsafeText for a CR, LF, bidi override..."""
    if raw is None:
        return None
    decoded = unquote(raw) if percent_encoded else raw
    reason = refuse_unsafe(decoded, field="reason", what="The reason").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise InputError(f"The reason is longer than {MAX_REASON_CHARS} characters.", limit=MAX_REASON_CHARS)
    return reason or None


AUDIT_READ_QUERY = "reason"


def require_audit_reason(reason: str | None) -> str:
    """Every read of the audit trail (search, export, access, activity and custody reports) states why.
    Returns the reason; raises ReasonRequired when there is none."""
    if reason is None:
        raise ReasonRequired(
            "Reading the audit trail needs a reason: send it in the"
            f" {HEADER} header or the `{AUDIT_READ_QUERY}` parameter.",
            header=HEADER,
            parameter=AUDIT_READ_QUERY,
        )
    return reason


def require_reason(*, classification: str | None, reason: str | None, required_for: Collection[str]) -> None:
    """Raise ReasonRequired if material of this classification needs a reason and none was given."""
    if reason is None and classification is not None and classification in required_for:
        raise ReasonRequired(
            f"Material classified {classification} needs a reason: send it in the {HEADER} header.",
            classification=classification,
            header=HEADER,
        )
