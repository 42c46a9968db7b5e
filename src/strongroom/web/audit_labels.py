"""Short, human labels for audit actions, as the access report and audit search show them.

The one mapping: the item and admin audit pages receive it as JSON in a `data-labels` attribute
(no inline script under our CSP) and fall back to the raw action only for an event newer than this
code. tests/web/test_pages.py fails when an AuditAction has no label here, so a new action cannot
reach the access report unlabelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from strongroom.audit.events import AuditAction

A = AuditAction

ACTION_LABELS: Final[Mapping[AuditAction, str]] = {
    # identity
    A.USER_CREATED: "Account created",
    A.USER_LOGGED_IN: "Signed in",
    A.USER_LOGIN_FAILED: "Sign-in failed",
    A.USER_PASSWORD_CHANGED: "Password changed",
    A.USER_PASSWORD_RESET: "Password reset by an administrator",
    A.USER_DISABLED: "Account disabled",
    A.USER_ENABLED: "Account enabled again",
    A.TOKEN_ISSUED: "API token issued",
    A.TOKEN_REVOKED: "API token revoked",
    A.TOKEN_REJECTED: "API token refused",
    A.GROUP_CREATED: "Group created",
    A.GROUP_MEMBER_ADDED: "Added to group",
    A.GROUP_MEMBER_REMOVED: "Removed from group",
    # content
    A.FOLDER_CREATED: "Folder created",
    A.FILE_CREATED: "Uploaded",
    A.VERSION_CREATED: "New version uploaded",
    A.VERSION_RESTORED: "Older version restored",
    A.ITEM_RENAMED: "Renamed",
    A.ITEM_MOVED: "Moved",
    A.ITEM_COPIED: "Copied",
    A.ITEM_TRASHED: "Moved to trash",
    A.ITEM_RESTORED: "Restored from trash",
    A.ITEM_PURGED: "Deleted for good",
    A.ITEM_LOCKED: "Locked",
    A.ITEM_UNLOCKED: "Unlocked",
    A.PROPERTIES_CHANGED: "Details changed",
    A.CONTENT_READ: "Downloaded",
    A.CONTENT_PLAYED: "Played",
    A.CONTENT_READ_INTERRUPTED: "Download stopped before the end",
    A.PREVIEW_READ: "Previewed",
    A.RENDITION_CREATED: "Preview made",
    A.UPLOAD_STARTED: "Upload started",
    A.UPLOAD_TERMINATED: "Upload cancelled",
    A.UPLOAD_EXPIRED: "Unfinished upload expired",
    # storage
    A.ORPHAN_BLOBS_COLLECTED: "Unused stored data removed",
    A.KEYS_ROTATED: "Encryption keys rotated",
    A.KEK_RETIRED: "Old encryption key retired",
    A.BLOBS_VERIFIED: "Stored data verified",
    A.BLOB_TAMPERED: "Stored data failed its integrity check",
    # audit
    A.AUDIT_EXPORTED: "Audit log exported",
    A.AUDIT_SIGNING_KEY_ROTATED: "Audit signing key rotated",
    A.ACCESS_REPORT_GENERATED: "Access report viewed",
    A.CUSTODY_REPORT_GENERATED: "Chain-of-custody report made",
    A.AUDIT_SEARCHED: "Audit trail searched",
    A.ACTIVITY_REPORT_GENERATED: "Activity report viewed",
    # sharing
    A.GRANT_CREATED: "Shared with a person or group",
    A.GRANT_CHANGED: "Sharing changed",
    A.GRANT_REMOVED: "Sharing removed",
    A.LINK_CREATED: "Shared link created",
    A.LINK_CHANGED: "Shared link changed",
    A.LINK_REVOKED: "Shared link revoked",
    A.LINK_OPENED: "Shared link opened",
    A.LINK_PASSWORD_ACCEPTED: "Password accepted",
    A.LINK_PASSWORD_FAILED: "Wrong password",
    A.LINK_CODE_SENT: "Code e-mailed",
    A.LINK_CODE_FAILED: "Wrong code",
    A.LINK_RECIPIENT_VERIFIED: "Code accepted",
    A.LINK_DOWNLOAD_REFUSED: "Download refused",
    A.LINK_STREAM_CUT: "Download cut off (link withdrawn)",
    A.UPLOAD_REQUEST_CREATED: "Upload request created",
    A.UPLOAD_REQUEST_REVOKED: "Upload request withdrawn",
    A.UPLOAD_REQUEST_CHANGED: "Upload request changed",
    A.UPLOAD_PASSWORD_ACCEPTED: "Upload link password accepted",
    A.UPLOAD_PASSWORD_FAILED: "Wrong upload link password",
    A.SUBMISSION_STARTED: "Files being sent",
    A.SUBMISSION_COMPLETED: "Files received",
    A.LINK_ITEM_WITHHELD: "Withheld from a link (classification)",
    A.LINK_GUESSED: "Links that do not exist asked for",
    A.LINK_GUESSING_THROTTLED: "Link guessing paused",
    # governance
    A.CLASSIFICATION_CHANGED: "Classification changed",
    A.SUBMISSION_EXPIRED: "Unfinished upload removed",
    # skills
    A.SCAN_PASSED: "Virus scan passed",
    A.SCAN_INFECTED: "Virus found",
    A.SCAN_HELD: "Held: too large to scan",
}


def action_label(action: str) -> str:
    """The label for an action value; the value itself for one this code does not know."""
    try:
        return ACTION_LABELS[AuditAction(action)]
    except (ValueError, KeyError):
        return action


def labels_by_value() -> dict[str, str]:
    """The mapping keyed by the stored action strings, as the pages' scripts look them up."""
    return {action.value: label for action, label in ACTION_LABELS.items()}
