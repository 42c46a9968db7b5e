"""Every error a user or operator can cause, with its stable code.

Services raise these; each door maps them in one table (api/errors.py, dav/, cli/).
Clients switch on `code`, never on the message.

* StrongroomError
  x InputError            bad_input          the request is malformed or breaks a documented limit
    + NameInvalid         name_invalid
    + RangeNotSatisfiable range_not_satisfiable
    + DigestMismatch      digest_mismatch    the body does not match the digest the client sent
  x TooLarge              too_large          the body is over a configured limit
  x Unauthenticated       unauthenticated    no or bad credentials
  x NotFound              not_found          also for items the actor may not see
  x NotAllowed            not_allowed        only for items the actor can see (e.g. viewer tries to edit)
  x Conflict              conflict
    + NameTaken           name_taken
    + ItemLocked          item_locked
  x VersionChanged        version_changed    If-Match failed
  x Gone                  gone               expired, revoked or used-up links and upload requests
  x ReasonRequired        reason_required    the item's classification asks for a reason to read or disclose
  x RateLimited           rate_limited
    + OpenUploadsLimit    open_uploads_limit       too many unfinished resumable uploads for one user
    + OpenUploadBytesLimit open_upload_bytes_limit their declared sizes together are over the cap
  x Unavailable           unavailable        database, blob store or key provider down; nothing lost
"""

from typing import ClassVar


class StrongroomError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, message: str, **data: object) -> None:
        super().__init__(message)
        self.message = message
        self.data = data  # machine-readable details: field names, limits


class InputError(StrongroomError):
    code = "bad_input"


class NameInvalid(InputError):
    code = "name_invalid"


class RangeNotSatisfiable(InputError):
    code = "range_not_satisfiable"


class DigestMismatch(InputError):
    code = "digest_mismatch"


class TooLarge(StrongroomError):
    code = "too_large"


class Unauthenticated(StrongroomError):
    code = "unauthenticated"


class NotFound(StrongroomError):
    code = "not_found"

    def __init__(self, kind: str, item_id: object = None) -> None:  # noqa: ARG002 - ids are never echoed back
        super().__init__(f"No {kind} with that id was found.", kind=kind)


class NotAllowed(StrongroomError):
    code = "not_allowed"


class Conflict(StrongroomError):
    code = "conflict"


class NameTaken(Conflict):
    code = "name_taken"


class ItemLocked(Conflict):
    code = "item_locked"


class VersionChanged(StrongroomError):
    code = "version_changed"


class Gone(StrongroomError):
    code = "gone"


class ReasonRequired(StrongroomError):
    code = "reason_required"


class RateLimited(StrongroomError):
    code = "rate_limited"


class OpenUploadsLimit(RateLimited):
    code = "open_uploads_limit"


class OpenUploadBytesLimit(RateLimited):
    code = "open_upload_bytes_limit"


class Unavailable(StrongroomError):
    code = "unavailable"
