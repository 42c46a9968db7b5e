"""File versions: the history of a file's bytes, and restoring an earlier state."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_file, access_version
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.locks import ensure_unlocked_for
from strongroom.content.models import FileVersion
from strongroom.content.uploads import make_current, next_version_number
from strongroom.db.base import new_id


def version_sharing_blob(
    original: FileVersion, *, file_id: str, number: int, actor: Actor, now: datetime
) -> FileVersion:
    """A new version with the bytes of `original`: it shares the sealed blob and its wrapped key (the
    blob stays bound to the version it was sealed for), so restoring or copying re-encrypts nothing."""
    return FileVersion(
        id=new_id("ver"),
        file_id=file_id,
        number=number,
        size=original.size,
        sha256=original.sha256,
        content_type=original.content_type,
        blob_key=original.blob_key,
        sealed_for_id=original.sealed_for_id,
        segment_size=original.segment_size,
        kek_id=original.kek_id,
        wrapped_dek=original.wrapped_dek,
        created_at=now,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
        restored_from_id=original.id,
        scan_status=original.scan_status,
        scan_detail=original.scan_detail,
    )


def list_versions(session: Session, actor: Actor, *, file_id: str) -> list[FileVersion]:
    """Every version of a file, newest first. Raises NotFound."""
    file = access_file(session, actor, file_id, Action.SEE)
    return list(
        session.scalars(
            select(FileVersion).where(FileVersion.file_id == file.id).order_by(FileVersion.number.desc())
        )
    )


def restore_version(
    session: Session, actor: Actor, *, file_id: str, version_id: str, clock: Clock
) -> FileVersion:
    """Make an earlier version current again by adding a new version with its bytes (history is never
    rewritten). Raises NotFound, ItemLocked."""
    version = access_version(session, actor, file_id, version_id, Action.EDIT)
    file = access_file(session, actor, file_id, Action.EDIT)
    now = clock.now()
    ensure_unlocked_for(file, actor, now=now)
    number = next_version_number(session, file.id)
    restored = version_sharing_blob(version, file_id=file.id, number=number, actor=actor, now=now)
    session.add(restored)
    make_current(file, restored, now=now)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.VERSION_RESTORED,
        item=ref(file),
        details={
            "version_id": restored.id,
            "restored_from": version.id,
            "number": number,
            "sha256": version.sha256,
        },
        at=now,
    )
    return restored
