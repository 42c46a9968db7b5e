"""Completing a submission: the chunks are joined into sealed file versions (marked `pending` until
a virus scan passes), the submitter gets a receipt with every file's name, size and SHA-256 and a
reference, and the owner is told, with a link to the folder's page.
"""

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from strongroom import mail as mailer
from strongroom.actors import Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.config import MailSettings
from strongroom.content import scrub
from strongroom.content import uploads as content_uploads
from strongroom.content.folders import ref
from strongroom.content.models import Folder
from strongroom.errors import Gone, InputError, NotFound
from strongroom.identity.models import User
from strongroom.jobs.queue import JobQueue
from strongroom.sharing import upload_rejections
from strongroom.sharing.models import SubmissionChunk, SubmissionFile, UploadRequest, UploadSubmission
from strongroom.sharing.schemas import Receipt, ReceiptFile
from strongroom.sharing.upload_requests import submitter_actor
from strongroom.sharing.upload_submissions import open_submission
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_blobs import SealedBlob, SealedBlobWriter, read_plaintext

VIRUS_SCAN_JOB = "skills.virus_scan"


@dataclass(frozen=True)
class JoinPlan:
    """One file ready to be joined from its chunks into a version of the submission's folder."""

    submission_file_id: str
    upload: content_uploads.UploadPlan
    chunks: list[
        tuple[str, str, bytes, int]
    ]  # (blob key, kek id, wrapped key, size), in order; aad = chunk id
    chunk_ids: list[str]


def prepare_completion(
    session: Session, request: UploadRequest, *, submission_id: str, origin: Origin
) -> list[JoinPlan]:
    """Check every file arrived whole and plan its version. Raises InputError (incomplete or no files)."""
    submission = open_submission(session, request, submission_id)
    actor = submitter_actor(request, origin=origin, label=submission.submitter_email)
    files = list(
        session.scalars(
            select(SubmissionFile)
            .where(SubmissionFile.submission_id == submission.id)
            .order_by(SubmissionFile.name)
        )
    )
    if not files:
        raise InputError("Add at least one file before sending.")
    plans = []
    for file in files:
        if file.received != file.size:
            raise InputError(
                f"{file.name!r} has {file.received} of {file.size} bytes; resume its upload first.",
                file=file.name,
            )
        chunks = list(
            session.scalars(
                select(SubmissionChunk)
                .where(SubmissionChunk.file_id == file.id)
                .order_by(SubmissionChunk.offset)
            )
        )
        assert submission.folder_id is not None
        plans.append(
            JoinPlan(
                submission_file_id=file.id,
                upload=content_uploads.prepare_upload(
                    session, actor, folder_id=submission.folder_id, name=file.name
                ),
                chunks=[(c.blob_key, c.kek_id, c.wrapped_dek, c.size) for c in chunks],
                chunk_ids=[c.id for c in chunks],
            )
        )
    return plans


def join_chunks(
    plan: JoinPlan,
    *,
    store: BlobStore,
    keys: KeyProvider,
    segment_bytes: int,
    sessions: sessionmaker[Session],
    clock: Clock,
) -> SealedBlob:
    """Decrypt the chunks in order into one new sealed blob, hashing the whole file on the way (blocking).
    A chunk that fails its check is recorded as a `storage.blob.tampered` incident naming the request's
    file and chunk, and raises CorruptBlob (503 `corrupt_blob`: the sender is not at fault)."""
    writer = SealedBlobWriter(
        store=store, keys=keys, aad_id=plan.upload.version_id.encode(), segment_size=segment_bytes
    )
    # Not yet a file: the incident is about the folder the file was to arrive in, naming it.
    into = ItemRef(kind="folder", id=plan.upload.folder_id, name=plan.upload.name)
    try:
        for (blob_key, kek_id, wrapped, size), chunk_id in zip(plan.chunks, plan.chunk_ids, strict=True):
            if size == 0:
                continue
            ids = {"submission_file_id": plan.submission_file_id, "chunk_id": chunk_id, "blob_key": blob_key}
            with scrub.tampering_recorded(
                sessions, found_by="upload request", clock=clock, item=into, ids=ids
            ):
                for piece in read_plaintext(
                    store=store,
                    keys=keys,
                    blob_key=blob_key,
                    wrapped_dek=WrappedKey(kek_id=kek_id, ciphertext=wrapped),
                    aad_id=chunk_id.encode(),
                    plaintext_size=size,
                ):
                    writer.write(piece)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def complete_submission(
    session: Session,
    request: UploadRequest,
    *,
    submission_id: str,
    joined: list[tuple[JoinPlan, SealedBlob]],
    origin: Origin,
    jobs: JobQueue,
    scan_required: bool,
    mail: MailSettings,
    public_url: str,
    clock: Clock,
    store: BlobStore,
    keys: KeyProvider,
) -> tuple[Receipt, list[str]]:
    """Record the joined files as versions (pending a virus scan), close the submission, mail the receipt
    and notify the owner. Returns the receipt and the chunk blob keys to delete after commit."""
    submission = open_submission(session, request, submission_id)
    now = clock.now()
    if request.single_use:
        # Spent by the first submission that completes (not one that starts: a refused file must not
        # use the link up), under the row lock, so two racing submissions cannot both complete.
        session.refresh(request, with_for_update=True)
        if request.used_at is not None:
            raise Gone("This upload link has already been used.")
        request.used_at = now
    actor = submitter_actor(request, origin=origin, label=submission.submitter_email)
    files: list[ReceiptFile] = []
    freed: list[str] = []
    for plan, sealed in joined:
        _, version = content_uploads.commit_upload(
            session,
            actor,
            plan=plan.upload,
            sealed=sealed,
            clock=clock,
            store=store,
            keys=keys,
            scan_status="pending" if scan_required else "not_required",
        )
        if scan_required:
            jobs.enqueue(session, VIRUS_SCAN_JOB, {"version_id": version.id})
        sub_file = session.get_one(SubmissionFile, plan.submission_file_id)
        sub_file.file_id, sub_file.version_id, sub_file.sha256 = version.file_id, version.id, version.sha256
        files.append(ReceiptFile(name=sub_file.name, size=version.size, sha256=version.sha256))
        freed += [c[0] for c in plan.chunks]
        for chunk in session.scalars(select(SubmissionChunk).where(SubmissionChunk.file_id == sub_file.id)):
            session.delete(chunk)
    submission.completed_at = now
    form = json.loads(submission.form)
    receipt = Receipt(
        reference=submission.reference, request_title=request.title, received_at=now, files=files, form=form
    )
    folder = session.get_one(Folder, submission.folder_id)
    events.record(
        session,
        actor,
        AuditAction.SUBMISSION_COMPLETED,
        item=ref(folder),
        details={
            "upload_request_id": request.id,
            "submission_id": submission.id,
            "reference": submission.reference,
            "files": [f.model_dump() for f in files],
        },
        at=now,
    )
    _mail_receipt(session, mail, receipt, submission.submitter_email)
    _notify_owner(session, mail, request=request, receipt=receipt, folder=folder, public_url=public_url)
    return receipt, freed


def receipt_text(receipt: Receipt) -> str:
    lines = [
        f"Reference: {receipt.reference}",
        f"Upload link: {receipt.request_title}",
        f"Received: {receipt.received_at:%Y-%m-%d %H:%M:%S} UTC",
        "",
        "Files (name, size in bytes, SHA-256):",
    ]
    lines += [f"  {f.name}\n    {f.size} bytes\n    SHA-256 {f.sha256}" for f in receipt.files]
    return "\n".join(lines)


def _mail_receipt(session: Session, mail: MailSettings, receipt: Receipt, email: str | None) -> None:
    if not email:
        return
    body = (
        "Thank you. We received the files below. Keep this message: the SHA-256 values let anyone "
        "check later "
        "that the files were not changed.\n\n" + receipt_text(receipt)
    )
    mailer.queue_mail(session, mail, mailer.Mail(to=email, subject=f"Receipt {receipt.reference}", body=body))


def _notify_owner(
    session: Session,
    mail: MailSettings,
    *,
    request: UploadRequest,
    receipt: Receipt,
    folder: Folder,
    public_url: str,
) -> None:
    recipients = {folder.owner_id, request.created_by_id} - {None}
    for user_id in recipients:
        user = session.get(User, user_id)
        if user is None or user.disabled_at is not None:
            continue
        body = (
            f"New files arrived through your upload link '{request.title}'.\n\n{receipt_text(receipt)}\n\n"
            f"Open them: {public_url}/files/{folder.id}\n"
            "Files from outside are held until the virus scan passes."
        )
        mailer.queue_mail(
            session, mail, mailer.Mail(to=user.email, subject=f"New upload {receipt.reference}", body=body)
        )


def receipt_of(session: Session, request: UploadRequest, *, reference: str) -> Receipt:
    """A completed submission's receipt, for the page the submitter lands on."""
    submission = session.scalar(
        select(UploadSubmission).where(
            UploadSubmission.reference == reference, UploadSubmission.request_id == request.id
        )
    )
    if submission is None or submission.completed_at is None:
        raise NotFound("submission", reference)
    files = session.scalars(
        select(SubmissionFile)
        .where(SubmissionFile.submission_id == submission.id)
        .order_by(SubmissionFile.name)
    )
    return Receipt(
        reference=submission.reference,
        request_title=request.title,
        received_at=submission.completed_at,
        files=[
            ReceiptFile(
                name=f.name, size=f.size, sha256=f.sha256 or "", scan=upload_rejections.scan_words(session, f)
            )
            for f in files
        ],
        form=json.loads(submission.form),
    )
