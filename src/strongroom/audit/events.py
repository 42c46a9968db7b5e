"""record(): write an audit event in the caller's transaction.

Events are queued on the session and sequenced just before commit, holding the audit head lock
only for the last moment of the transaction: appends stay in one gap-free order without making every
transaction wait for every other one for its whole duration.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit import chain
from strongroom.audit.models import AuditEvent, AuditHead

_PENDING = "strongroom.audit.pending"


class AuditAction(StrEnum):
    """What happened, as "<domain>.<object>.<verb>" in the past tense.

    The value is stored in every event and is a stable contract for SIEM queries: add members,
    never rename them.
    """

    USER_CREATED = "identity.user.created"
    USER_LOGGED_IN = "identity.user.logged_in"
    USER_LOGIN_FAILED = "identity.user.login_failed"
    USER_PASSWORD_CHANGED = "identity.user.password_changed"
    USER_PASSWORD_RESET = "identity.user.password_reset"
    USER_DISABLED = "identity.user.disabled"
    USER_ENABLED = "identity.user.enabled"
    TOKEN_ISSUED = "identity.token.issued"
    TOKEN_REVOKED = "identity.token.revoked"
    TOKEN_REJECTED = "identity.token.rejected"
    FOLDER_CREATED = "content.folder.created"
    FILE_CREATED = "content.file.created"
    VERSION_CREATED = "content.version.created"
    VERSION_RESTORED = "content.version.restored"
    ITEM_RENAMED = "content.item.renamed"
    ITEM_MOVED = "content.item.moved"
    ITEM_COPIED = "content.item.copied"
    ITEM_TRASHED = "content.item.trashed"
    ITEM_RESTORED = "content.item.restored"
    ITEM_PURGED = "content.item.purged"
    ITEM_LOCKED = "content.item.locked"
    ITEM_UNLOCKED = "content.item.unlocked"
    PROPERTIES_CHANGED = "content.properties.changed"
    CONTENT_READ = "content.version.read"
    CONTENT_READ_INTERRUPTED = "content.version.read_interrupted"
    CONTENT_PLAYED = "content.version.played"  # one playback in a media player (content.playbacks)
    ORPHAN_BLOBS_COLLECTED = "storage.blob.collected"
    KEYS_ROTATED = "storage.key.rotated"
    KEK_RETIRED = "storage.key.retired"
    AUDIT_SIGNING_KEY_ROTATED = "audit.signing_key.rotated"
    BLOBS_VERIFIED = "storage.blob.verified"
    BLOB_TAMPERED = "storage.blob.tampered"
    """A stored blob failed its integrity check (a read, the scrub or `strongroom verify`): an incident."""
    AUDIT_EXPORTED = "audit.log.exported"
    ACCESS_REPORT_GENERATED = "audit.access_report.generated"
    CUSTODY_REPORT_GENERATED = "audit.custody_report.generated"
    GROUP_CREATED = "identity.group.created"
    GROUP_MEMBER_ADDED = "identity.group.member_added"
    GROUP_MEMBER_REMOVED = "identity.group.member_removed"
    GRANT_CREATED = "sharing.grant.created"
    GRANT_CHANGED = "sharing.grant.changed"
    GRANT_REMOVED = "sharing.grant.removed"
    LINK_CREATED = "sharing.link.created"
    LINK_CHANGED = "sharing.link.changed"
    LINK_REVOKED = "sharing.link.revoked"
    LINK_OPENED = "sharing.link.opened"
    LINK_PASSWORD_ACCEPTED = "sharing.link.password_accepted"
    LINK_PASSWORD_FAILED = "sharing.link.password_failed"
    LINK_CODE_SENT = "sharing.link.code_sent"
    LINK_CODE_FAILED = "sharing.link.code_failed"
    LINK_RECIPIENT_VERIFIED = "sharing.link.recipient_verified"
    LINK_DOWNLOAD_REFUSED = "sharing.link.download_refused"
    LINK_STREAM_CUT = "sharing.link.stream_cut"
    UPLOAD_REQUEST_CREATED = "sharing.upload_request.created"
    UPLOAD_REQUEST_REVOKED = "sharing.upload_request.revoked"
    UPLOAD_REQUEST_CHANGED = "sharing.upload_request.changed"
    UPLOAD_PASSWORD_ACCEPTED = "sharing.upload_request.password_accepted"
    UPLOAD_PASSWORD_FAILED = "sharing.upload_request.password_failed"
    SUBMISSION_STARTED = "sharing.submission.started"
    SUBMISSION_COMPLETED = "sharing.submission.completed"
    SUBMISSION_EXPIRED = "sharing.submission.expired"  # abandoned unfinished: its chunks were removed
    PREVIEW_READ = "content.preview.read"
    RENDITION_CREATED = "content.rendition.created"
    SCAN_PASSED = "skills.scan.passed"
    SCAN_INFECTED = "skills.scan.infected"
    SCAN_HELD = "skills.scan.held"
    UPLOAD_STARTED = "content.upload.started"
    UPLOAD_TERMINATED = "content.upload.terminated"
    UPLOAD_EXPIRED = "content.upload.expired"
    AUDIT_SEARCHED = "audit.log.searched"
    ACTIVITY_REPORT_GENERATED = "audit.activity_report.generated"
    CLASSIFICATION_CHANGED = "governance.classification.changed"
    LINK_ITEM_WITHHELD = "sharing.link.item_withheld"
    LINK_GUESSED = "sharing.link.guessed"
    LINK_GUESSING_THROTTLED = "sharing.link.guessing_throttled"


@dataclass(frozen=True)
class ItemRef:
    """What an event is about, copied into the event so it survives the item's deletion."""

    kind: str
    id: str
    name: str | None = None


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    *,
    item: ItemRef | None = None,
    details: dict[str, Any] | None = None,
    reason: str | None = None,
    at: datetime,
) -> None:
    """Queue an event in this transaction; it is sequenced, chained and written when it commits."""
    session.info.setdefault(_PENDING, []).append(
        {
            "occurred_at": at,
            "actor_kind": actor.kind.value,
            "actor_id": actor.id,
            "actor_label": actor.label,
            "ip": actor.origin.ip,
            "user_agent": actor.origin.user_agent,
            "action": action.value,
            "item_kind": item.kind if item else None,
            "item_id": item.id if item else None,
            "item_name": item.name if item else None,
            "details": chain.canonical_json(details or {}),
            "reason": reason,
        }
    )


def hashed_fields(seq: int, fields: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """The exact field set the chain hash covers (times as ISO 8601 UTC with microseconds)."""
    return {
        **fields,
        "seq": seq,
        # Stored as UTC, so hashed as UTC: a re-export from the database must give the same bytes.
        "occurred_at": fields["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }


@sa_event.listens_for(Session, "before_commit")
def _append_pending_events(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    # Core statements, not ORM objects: this runs inside every committing transaction, under the lock
    # that serialises appends, so every microsecond here is paid by all writers.
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one_or_none()
    if head is None:
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=chain.GENESIS_HASH))
        seq, prev = 0, chain.GENESIS_HASH
    else:
        seq, prev = head.seq, head.hash
    # Times never decrease along the sequence: under the head lock, an event is stamped no earlier
    # than the one before it, whatever a stepped-back or skewed clock said. The trail's last time is
    # then a persisted high-water mark of time (audit.timeline).
    latest = session.scalar(select(AuditEvent.occurred_at).where(AuditEvent.seq == seq)) if seq else None
    rows = []
    for fields in pending:
        if latest is not None and fields["occurred_at"] < latest:
            fields["occurred_at"] = latest
        latest = fields["occurred_at"]
        seq += 1
        digest = chain.chain_hash(prev, chain.event_payload(hashed_fields(seq, fields, prev)))
        rows.append({**fields, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_pending_events(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)
