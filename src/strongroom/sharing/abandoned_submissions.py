"""Reaping the chunks of upload-request submissions that were started and never completed.

A third party's browser may stop halfway through sending CCTV. Its chunks are sealed blobs held for the
join at completion; once the submission is older than `[sharing] abandoned_submission_hours` and still
not complete, its chunks (rows and blobs) are removed and the submission starts again from zero if the
sender ever comes back. The submission row, its folder and its audit events stay: the record of what
was attempted is kept, only the unjoined bytes go.
"""

from datetime import timedelta
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.db.session import on_commit, transaction
from strongroom.sharing.models import SubmissionChunk, SubmissionFile, UploadSubmission
from strongroom.storage.blobs import BlobStore

BATCH: Final = 200


def reap_abandoned_submissions(
    sessions: sessionmaker[Session],
    store: BlobStore,
    *,
    clock: Clock,
    older_than: timedelta,
    batch: int = BATCH,
) -> int:
    """Remove the chunks of every incomplete submission started before `older_than` ago; returns how
    many submissions were reaped. Blobs are deleted after commit; any left by a failure are orphans
    that the garbage collector removes."""
    total = 0
    while True:
        with transaction(sessions) as session:
            reaped = _reap_batch(session, store, clock=clock, older_than=older_than, batch=batch)
        total += reaped
        if reaped < batch:
            return total


def _reap_batch(
    session: Session, store: BlobStore, *, clock: Clock, older_than: timedelta, batch: int
) -> int:
    now = clock.now()
    abandoned = list(
        session.scalars(
            select(UploadSubmission)
            .where(
                UploadSubmission.completed_at.is_(None),
                UploadSubmission.created_at < now - older_than,
                UploadSubmission.id.in_(
                    select(SubmissionFile.submission_id).join(
                        SubmissionChunk, SubmissionChunk.file_id == SubmissionFile.id
                    )
                ),
            )
            .limit(batch)
        )
    )
    keys: list[str] = []
    for submission in abandoned:
        file_ids = select(SubmissionFile.id).where(SubmissionFile.submission_id == submission.id)
        of_submission = SubmissionChunk.file_id.in_(file_ids)
        chunk_keys = list(session.scalars(select(SubmissionChunk.blob_key).where(of_submission)))
        session.execute(delete(SubmissionChunk).where(of_submission))
        session.execute(
            update(SubmissionFile).where(SubmissionFile.submission_id == submission.id).values(received=0)
        )
        dropped, submission.bytes_received = submission.bytes_received, 0
        events.record(
            session,
            Actor.system(label="upload expiry"),
            AuditAction.SUBMISSION_EXPIRED,
            item=ItemRef(kind="folder", id=submission.folder_id) if submission.folder_id else None,
            details={
                "submission_id": submission.id,
                "reference": submission.reference,
                "bytes_dropped": dropped,
                "chunks": len(chunk_keys),
            },
            at=now,
        )
        keys.extend(chunk_keys)
    on_commit(session, lambda: _delete_blobs(store, keys))
    return len(abandoned)


def _delete_blobs(store: BlobStore, keys: list[str]) -> None:
    for key in keys:
        store.delete(key)
