"""Audit actions, people and times in plain words, as reports for people show them.

The one mapping of actions to labels (`ACTION_LABELS`): the web's access report and audit search
(web/audit_labels.py hands it to their scripts) and the chain-of-custody PDF use it. An event newer
than this code keeps its raw action. tests/sharing/test_link_pages.py fails when an AuditAction has no
label here, so a new action cannot reach a report unlabelled.

Times for people are UK times (Europe/London, GMT or BST as on that day) in one format,
`uk_time()`: "Tue 1 Dec 2026, 14:05:09 GMT".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

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
    A.THUMBNAIL_SHOWN: "Thumbnail shown in a folder list",
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
    A.SUBMISSION_STARTED: "Files being sent",
    A.SUBMISSION_COMPLETED: "Files received",
    A.LINK_ITEM_WITHHELD: "Withheld from a link (classification)",
    A.LINK_GUESSED: "Links that do not exist asked for",
    A.LINK_GUESSING_THROTTLED: "Link guessing paused",
    A.ZIP_DOWNLOADED: "Downloaded as a zip",
    A.ZIP_INTERRUPTED: "Zip download cut short",
    A.LINK_MAILED: "Shared link e-mailed",
    A.LINK_NOTICES_MAILED: "Link activity e-mailed to the owner",
    # governance
    A.CLASSIFICATION_CHANGED: "Classification changed",
    A.SUBMISSION_EXPIRED: "Unfinished upload removed",
    # skills
    A.SCAN_PASSED: "Virus scan passed",
    A.SCAN_INFECTED: "Virus found",
    A.SCAN_HELD: "Held: too large to scan",
    A.SKILL_REQUESTED: "Skill asked to run",
    A.SKILL_DONE: "Skill finished",
    A.SKILL_FAILED: "Skill could not read the file",
    A.SKILL_CARD_READ: "Skill result viewed",
    A.USER_SSO_LINKED: "Single sign-on account linked",
    A.USER_UPDATED: "Account details changed",
    A.USER_DELETED: "Account removed by the directory",
    A.USER_ROLE_CHANGED: "Role changed",
    A.GROUP_UPDATED: "Group changed",
    A.GROUP_DELETED: "Group deleted",
    A.PROVISIONING_TOKEN_ISSUED: "Directory provisioning token issued",
    A.PROVISIONING_TOKEN_REJECTED: "Directory provisioning token refused",
    A.USER_WORK_ENDED: "Locks released and unfinished uploads discarded",
    A.SESSION_REVOKED: "Signed out by force",
    A.MFA_ENABLED: "Second factor added",
    A.MFA_DISABLED: "Second factor removed",
    A.FILE_IMPORTED: "Imported from a share or mailbox",
    A.IMPORT_FINISHED: "Import finished",
    A.UPLOAD_PASSWORD_ACCEPTED: "Upload link password accepted",
    A.UPLOAD_PASSWORD_FAILED: "Wrong upload link password",
    # search
    A.TEMPLATE_CREATED: "Metadata template created",
    A.TEMPLATE_CHANGED: "Metadata template changed",
    A.METADATA_SET: "Metadata set",
    A.METADATA_REMOVED: "Metadata removed",
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


UK = ZoneInfo("Europe/London")
_ACTOR_KINDS: Final[Mapping[str, str]] = {
    "link": "visitor of a shared link",
    "upload_request": "sender through an upload request",
    "anonymous": "someone not identified",
}


def uk_time(value: datetime | str) -> str:
    """A time as UK people read it: "Tue 1 Dec 2026, 14:05:09 GMT" (BST in summer). A naive time or an
    ISO string without an offset is UTC, as every stored time is."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(UK)
    # English names whatever the process's locale (strftime's %a and %b follow it), and no strftime:
    # a custody report formats one time per event, 10,000 of them for a busy exhibit.
    return (
        f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year},"
        f" {local.hour:02}:{local.minute:02}:{local.second:02} {local.tzname()}"
    )


_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def actor_words(kind: str, label: str) -> str:
    """Who acted, in words: a person by name or e-mail, the system's own work as "Strongroom
    (automatic: …)" rather than as a person called "previews", a link visitor as such."""
    if kind == "user":
        return label
    if kind == "system":
        return f"Strongroom (automatic: {label})" if label and label != "system" else "Strongroom (automatic)"
    described = _ACTOR_KINDS.get(kind, kind)
    return f"{label} ({described})" if label and kind != "anonymous" else described
