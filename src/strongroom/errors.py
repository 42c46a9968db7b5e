"""Every error a user or operator can cause, with its stable code.

Services raise these; each door maps them in one table (api/errors.py, dav/, cli/).
Clients switch on `code`, never on the message.

* StrongroomError
  x InputError            bad_input          the request is malformed or breaks a documented limit
    + NameInvalid         name_invalid
    + RangeNotSatisfiable range_not_satisfiable
    + DigestMismatch      digest_mismatch    the body does not match the digest the client sent
    + UnsafeText          unsafe_text        control or text-direction characters in text the audit keeps
    + UnknownSkill        unknown_skill      a skill name that is not one of the skills (skills/processing.py)
  x TooLarge              too_large          the body is over a configured limit
  x Unauthenticated       unauthenticated    no or bad credentials
    + SignInRefused       sign_in_refused    single sign-on answer refused (forged, replayed, expired...)
  x NotFound              not_found          also for items the actor may not see
  x NotAllowed            not_allowed        only for items the actor can see (e.g. viewer tries to edit)
    + NotManagedByDirectory not_managed_by_directory  SCIM changing an account it did not provision
    + GuestMayNotShare    guest_may_not_share  an external guest creating links, upload requests or grants
  x Conflict              conflict
    + NameTaken           name_taken
    + LastAdmin           last_admin         disabling or demoting the last active organisation administrator
    + ItemLocked          item_locked
    + IdempotencyKeyReused idempotency_key_reused  the key was first used for a different request
  x VersionChanged        version_changed    If-Match failed
    + ItemExists          item_exists        If-None-Match failed: the target exists (or matches)
  x Gone                  gone               expired, revoked or used-up links and upload requests
  x ReasonRequired        reason_required    the item's classification asks for a reason to read or disclose
  x RateLimited           rate_limited
    + OpenUploadsLimit    open_uploads_limit       too many unfinished resumable uploads for one user
    + OpenUploadBytesLimit open_upload_bytes_limit their declared sizes together are over the cap
  x Unavailable           unavailable        database, blob store or key provider down; nothing lost
    + DatabaseUnavailable database_unavailable  the database is down, restarting or refusing connections
    + KeyUnavailable      key_unavailable       a data key does not unwrap (retired KEK, changed row)
    + KeyProviderUnavailable key_provider_unavailable  the HSM or key file cannot be used (kill switch)
  x StorageFull           storage_full       the blob disk is full (507); nothing was recorded
    + DatabaseFull        database_full      the database's disk is full (507); nothing was recorded
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


class UnsafeText(InputError):
    """Text that the audit trail keeps (a reason, an address, a name) holds control, line-separator
    or bidirectional-formatting characters (strongroom.audit.text)."""

    code = "unsafe_text"


class TooLarge(StrongroomError):
    code = "too_large"


class Unauthenticated(StrongroomError):
    code = "unauthenticated"


class SignInRefused(Unauthenticated):
    """A single sign-on answer was refused; `data["reason"]` says why, for the audit trail."""

    code = "sign_in_refused"


class NotFound(StrongroomError):
    code = "not_found"

    def __init__(self, kind: str, item_id: object = None) -> None:  # noqa: ARG002 - ids are never echoed back
        super().__init__(f"No {kind} with that id was found.", kind=kind)


class NotAllowed(StrongroomError):
    code = "not_allowed"


class NotManagedByDirectory(NotAllowed):
    code = "not_managed_by_directory"


class GuestMayNotShare(NotAllowed):
    code = "guest_may_not_share"


class Conflict(StrongroomError):
    code = "conflict"


class LastAdmin(Conflict):
    code = "last_admin"


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


class ItemExists(VersionChanged):
    """`If-None-Match` refused a write because the target exists (or matches): 412 like If-Match."""

    code = "item_exists"


class IdempotencyKeyReused(Conflict):
    """An `Idempotency-Key` came back with a different request than it was first used for."""

    code = "idempotency_key_reused"


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached or dropped the connection; the request changed nothing."""

    code = "database_unavailable"


class StorageFull(StrongroomError):
    """The disk under the blob store is full: the upload was not recorded and its bytes were removed."""

    code = "storage_full"


class DatabaseFull(StorageFull):
    """The database's disk is full: the transaction rolled back and nothing was recorded."""

    code = "database_full"


class QueryInvalid(InputError):
    """A search query the query language cannot read (the message says where)."""

    code = "query_invalid"


class MetadataInvalid(InputError):
    """Metadata values that do not fit their template (a missing required field, a wrong type...)."""

    code = "metadata_invalid"


class TemplateInvalid(InputError):
    """A metadata template definition that cannot be used."""

    code = "template_invalid"
