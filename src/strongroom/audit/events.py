"""record(): write an audit event in the caller's transaction.

Events are queued on the session and inserted, unchained, just before it commits, so an event is
durable exactly when the change it records is. The sequencer (sequencer.py) then gives them their seq
and chain hash in batches; the unit of work returns only after that. On SQLite, where units of work
share one commit, the batch chains its units' events itself just before that commit, so they are
written once, chained, and never pass through audit_pending.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from strongroom.actors import Actor
from strongroom.audit import chain, sequencer
from strongroom.audit.models import PendingAuditEvent, table_of
from strongroom.db.session import before_group_commit, group_commit_list, on_commit
from strongroom.db.unit_lists import outermost, take_unit_list, unit_list, unit_rolled_back

_PENDING = "strongroom.audit.pending"
_RELEASED = "strongroom.audit.on_release"
_KICK = "strongroom.audit.kick"


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
    USER_SSO_LINKED = "identity.user.sso_linked"
    """An account at the force's identity provider was linked to a Strongroom account (new or existing)."""
    # Directory provisioning (SCIM), roles, sessions and MFA (0009_accounts).
    USER_UPDATED = "identity.user.updated"
    USER_DELETED = "identity.user.deleted"
    USER_ROLE_CHANGED = "identity.user.role_changed"
    GROUP_UPDATED = "identity.group.updated"
    GROUP_DELETED = "identity.group.deleted"
    PROVISIONING_TOKEN_ISSUED = "identity.provisioning_token.issued"
    PROVISIONING_TOKEN_REJECTED = "identity.provisioning_token.rejected"
    USER_WORK_ENDED = "identity.user.work_ended"
    SESSION_REVOKED = "identity.session.revoked"
    MFA_ENABLED = "identity.mfa.enabled"
    MFA_DISABLED = "identity.mfa.disabled"
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
    THUMBNAIL_SHOWN = "content.thumbnail.shown"  # a small picture of it, in a folder list
    SCAN_PASSED = "skills.scan.passed"
    SCAN_INFECTED = "skills.scan.infected"
    SCAN_HELD = "skills.scan.held"
    SKILL_REQUESTED = "skills.run.requested"  # a person asked for a skill to run (again)
    SKILL_DONE = "skills.run.done"
    SKILL_FAILED = "skills.run.failed"
    SKILL_CARD_READ = "skills.card.read"  # a transcript, text or timeline was shown: a look at content
    UPLOAD_STARTED = "content.upload.started"
    UPLOAD_TERMINATED = "content.upload.terminated"
    UPLOAD_EXPIRED = "content.upload.expired"
    AUDIT_SEARCHED = "audit.log.searched"
    ACTIVITY_REPORT_GENERATED = "audit.activity_report.generated"
    CLASSIFICATION_CHANGED = "governance.classification.changed"
    LINK_ITEM_WITHHELD = "sharing.link.item_withheld"
    LINK_GUESSED = "sharing.link.guessed"
    LINK_GUESSING_THROTTLED = "sharing.link.guessing_throttled"
    ZIP_DOWNLOADED = "content.zip.downloaded"  # one zip of a folder or a selection; each file also read
    ZIP_INTERRUPTED = "content.zip.interrupted"  # a zip cut short: how many of its files were sent
    LINK_MAILED = "sharing.link.mailed"  # the server e-mailed the link to its recipients
    LINK_NOTICES_MAILED = "sharing.link.notices_mailed"  # an owner's batched "opened/downloaded" mail
    FILE_IMPORTED = "content.file.imported"  # `strongroom import`: source path, original time, hash
    IMPORT_FINISHED = "content.import.finished"  # one run of `strongroom import`: counts and report
    TEMPLATE_CREATED = "search.template.created"  # a metadata template an administrator defined
    TEMPLATE_CHANGED = "search.template.changed"
    METADATA_SET = "search.metadata.set"  # an item's values of one template: before and after
    METADATA_REMOVED = "search.metadata.removed"


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
    if at.tzinfo is None:  # checked here: on SQLite the event is not written before the batch commits
        msg = "naive datetime given to the audit trail; use clock.now()"
        raise ValueError(msg)
    unit_list(session, _PENDING).append(
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


_INSERT_PENDING = insert(table_of(PendingAuditEvent))


@sa_event.listens_for(Session, "before_commit")
def _insert_pending_events(session: Session) -> None:
    if not outermost(session):  # a savepoint inside the unit: its events go with the unit's commit
        return
    pending: list[dict[str, Any]] = take_unit_list(session, _PENDING)
    if not pending:
        return
    connection = session.connection()
    batched = group_commit_list(connection, sequencer.BATCH_EVENTS)
    if batched is not None:
        # SQLite group commit: the events are chained straight into audit_event in the batch's shared
        # transaction, just before its one commit (sequencer.chain_batch), so they never pass through
        # audit_pending. They join the batch only once this unit's savepoint is released: a unit that
        # fails from here on (its flush, say) takes its events with it.
        before_group_commit(connection, "audit.chain", sequencer.chain_batch)
        session.info[_RELEASED] = (batched, pending)
        return
    # Committed with the change, unchained: no lock is taken, so writers never wait on one another
    # here. The sequencer chains them after the commit (audit/sequencer.py), and the door's answer
    # waits for that (db.session.on_commit runs before the unit of work returns).
    connection.execute(_INSERT_PENDING, pending[0] if len(pending) == 1 else pending)
    if not session.info.get(_KICK):
        session.info[_KICK] = True
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        on_commit(session, functools.partial(sequencer.chain_after_commit, engine))


@sa_event.listens_for(Session, "after_commit")
def _join_batch(session: Session) -> None:
    released: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = session.info.pop(_RELEASED, None)
    if released is not None:
        batched, pending = released
        batched.extend(pending)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_pending_events(session: Session, previous: SessionTransaction) -> None:
    # The events themselves are a unit list (db.unit_lists): a savepoint's rollback takes back its own.
    if unit_rolled_back(previous):
        session.info.pop(_RELEASED, None)
        session.info.pop(_KICK, None)
