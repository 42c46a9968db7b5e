"""Upload requests ("file requests"): people without an account put files into a force folder.

A request is a link (`/r/<token>`) on a folder with a form, limits and an expiry. Each use is a
submission: its form, its own subfolder, and files received in offset-addressed chunks, so a
broken upload of a large CCTV export resumes where it stopped. The request's size cap holds for the
running total of a submission's bytes, whatever the chunking. On completion the chunks are joined
into sealed file versions (marked `pending` until a virus scan passes), and the submitter gets a
receipt with every file's name, size and SHA-256 and a reference; the owner is notified.
"""

import fnmatch
import json
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder
from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock, utc
from strongroom.config import MailSettings, SharingSettings
from strongroom.content import folders as content_folders
from strongroom.content import uploads as content_uploads
from strongroom.content.folders import ref
from strongroom.content.models import Folder
from strongroom.content.names import clean_name, name_key
from strongroom.db.base import new_id
from strongroom.errors import Conflict, Gone, InputError, NotFound, TooLarge
from strongroom.identity import users as identity_users
from strongroom.identity.models import User
from strongroom.jobs.queue import JobQueue
from strongroom.sharing import link_guessing, upload_rejections
from strongroom.sharing.models import SubmissionChunk, SubmissionFile, UploadRequest, UploadSubmission
from strongroom.sharing.schemas import FormField, Receipt, ReceiptFile, UploadRequestCreate
from strongroom.sharing.shared_links import _expiry, new_token, token_digest
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_blobs import SealedBlob, SealedBlobWriter, read_plaintext

MAX_FIELD_CHARS = 5000
VIRUS_SCAN_JOB = "skills.virus_scan"


def create_upload_request(
    session: Session, actor: Actor, *, folder_id: str, options: UploadRequestCreate, clock: Clock
) -> tuple[UploadRequest, str]:
    """Open an upload request on a folder; returns it and its clear token (shown once). Raises NotFound."""
    folder = access_folder(session, actor, folder_id, Action.SHARE)
    now = clock.now()
    names = [f.name for f in options.fields]
    if len(set(names)) != len(names):
        raise InputError("Each form field needs its own name.", field="fields")
    refuse_unsafe(options.title, field="title", what="The title")
    refuse_unsafe(options.instructions, field="instructions", what="The instructions", multiline=True)
    for spec in options.fields:
        refuse_unsafe(spec.label, field="fields", what=f"The label of the field '{spec.name}'")
    clear = new_token()
    request = UploadRequest(
        id=new_id("ur"),
        folder_id=folder.id,
        token_hash=token_digest(clear),
        title=options.title,
        instructions=options.instructions,
        fields=json.dumps([f.model_dump() for f in options.fields]),
        allowed_types=json.dumps([t.strip().lower() for t in options.allowed_types]),
        max_bytes=options.max_bytes,
        single_use=options.single_use,
        expires_at=_expiry(options.expires_at, options.expires_in_days, now),
        created_at=now,
        created_by_id=actor.user_id,
        password_hash=identity_users.hash_password(options.password) if options.password else None,
    )
    session.add(request)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.UPLOAD_REQUEST_CREATED,
        item=ref(folder),
        details={"upload_request_id": request.id, "title": request.title, "max_bytes": request.max_bytes},
        at=now,
    )
    return request, clear


def access_upload_request(session: Session, actor: Actor, request_id: str) -> UploadRequest:
    request = session.get(UploadRequest, request_id)
    if request is None:
        raise NotFound("upload request", request_id)
    try:
        access_folder(session, actor, request.folder_id, Action.SHARE)
    except NotFound:
        raise NotFound("upload request", request_id) from None  # the same answer as a random id
    return request


def list_upload_requests(session: Session, actor: Actor, *, folder_id: str) -> list[UploadRequest]:
    folder = access_folder(session, actor, folder_id, Action.SHARE)
    return list(
        session.scalars(
            select(UploadRequest)
            .where(UploadRequest.folder_id == folder.id)
            .order_by(UploadRequest.created_at)
        )
    )


def revoke_upload_request(session: Session, actor: Actor, *, request_id: str, clock: Clock) -> UploadRequest:
    request = access_upload_request(session, actor, request_id)
    if request.revoked_at is None:
        request.revoked_at = clock.now()
        events.record(
            session,
            actor,
            AuditAction.UPLOAD_REQUEST_REVOKED,
            item=ItemRef("upload_request", request.id, request.title),
            at=clock.now(),
        )
    return request


def list_submissions(session: Session, actor: Actor, *, request_id: str) -> list[UploadSubmission]:
    request = access_upload_request(session, actor, request_id)
    return list(
        session.scalars(
            select(UploadSubmission)
            .where(UploadSubmission.request_id == request.id)
            .order_by(UploadSubmission.created_at)
        )
    )


# --- the third party's side ---------------------------------------------------------------------


def find_request(session: Session, token: str) -> UploadRequest:
    """The request a token names, live or not (receipts stay readable). Raises NotFound."""
    request = session.scalar(select(UploadRequest).where(UploadRequest.token_hash == token_digest(token)))
    if request is None:
        raise NotFound("upload request", None)
    return request


def screen_token(
    session: Session, token: str, *, origin: Origin, settings: SharingSettings, clock: Clock
) -> bool:
    """Whether a token opens an upload request. One that opens none is counted as a guess from the
    visitor's address, with the shared links' guesses (commit before answering NotFound); raises
    RateLimited when that address has guessed too often."""
    link_guessing.ensure_not_guessing(session, origin, settings=settings, clock=clock)
    found = session.scalar(select(UploadRequest.id).where(UploadRequest.token_hash == token_digest(token)))
    if found is None:
        link_guessing.count_guess(session, origin, settings=settings, clock=clock)
        return False
    return True


def find_live_request(session: Session, token: str, *, clock: Clock) -> UploadRequest:
    """The request a token opens. Raises NotFound, or Gone (revoked, expired)."""
    request = find_request(session, token)
    if request.revoked_at is not None:
        raise Gone("This upload link has been withdrawn.")
    if request.expires_at is not None and utc(request.expires_at) <= timeline.decision_time(session, clock):
        raise Gone("This upload link has expired.")
    if request.single_use and request.used_at is not None:
        raise Gone("This upload link has already been used.")
    return request


def fields_of(request: UploadRequest) -> list[FormField]:
    return [FormField(**f) for f in json.loads(request.fields)]


def submitter_actor(request: UploadRequest, *, origin: Origin, label: str | None = None) -> Actor:
    return Actor(kind=ActorKind.UPLOAD_REQUEST, id=request.id, label=label or "upload request", origin=origin)


def _clean_form(request: UploadRequest, form: dict[str, str]) -> dict[str, str]:
    fields = {f.name: f for f in fields_of(request)}
    unknown = sorted(set(form) - set(fields))
    if unknown:
        raise InputError(f"Unknown form fields: {', '.join(unknown)}.", field=unknown[0])
    clean: dict[str, str] = {}
    for name, spec in fields.items():
        value = refuse_unsafe(
            form.get(name) or "", field=name, what=f"'{spec.label}'", multiline=spec.kind == "textarea"
        ).strip()
        if spec.required and not value:
            raise InputError(f"Please fill in '{spec.label}'.", field=name)
        if len(value) > MAX_FIELD_CHARS:
            raise InputError(f"'{spec.label}' is limited to {MAX_FIELD_CHARS} characters.", field=name)
        if value and spec.kind == "email":
            value = identity_users.normalise_email(value)
        if value:
            clean[name] = value
    return clean


def _new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read out over the phone
    body = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"SR-{body[:4]}-{body[4:]}"


def start_submission(
    session: Session, request: UploadRequest, *, form: dict[str, str], origin: Origin, clock: Clock
) -> UploadSubmission:
    """Check the form and open a submission with its own subfolder. Raises InputError."""
    now = clock.now()
    clean = _clean_form(request, form)
    reference = _new_reference()
    submitter = clean.get("email") or clean.get("name")
    actor = submitter_actor(request, origin=origin, label=submitter)
    who = clean.get("organisation") or clean.get("name") or "upload"
    folder_name = f"{now:%Y-%m-%d} {reference} {who}"[:200].strip()
    folder = content_folders.create_folder(
        session, actor, parent_id=request.folder_id, name=folder_name, clock=clock
    )
    submission = UploadSubmission(
        id=new_id("sub"),
        request_id=request.id,
        reference=reference,
        form=json.dumps(clean, sort_keys=True),
        submitter_email=clean.get("email"),
        folder_id=folder.id,
        bytes_received=0,
        created_at=now,
    )
    session.add(submission)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.SUBMISSION_STARTED,
        item=ref(folder),
        details={
            "upload_request_id": request.id,
            "submission_id": submission.id,
            "reference": reference,
            "form": clean,
        },
        at=now,
    )
    return submission


def open_submission(session: Session, request: UploadRequest, submission_id: str) -> UploadSubmission:
    submission = session.get(UploadSubmission, submission_id)
    if submission is None or submission.request_id != request.id:
        raise NotFound("submission", submission_id)
    if submission.completed_at is not None:
        raise Conflict("This submission is complete; start a new one to send more files.")
    return submission


def _type_allowed(request: UploadRequest, name: str, content_type: str) -> bool:
    allowed: list[str] = json.loads(request.allowed_types)
    if not allowed:
        return True
    lower = name.lower()
    return any(lower.endswith(p) if p.startswith(".") else fnmatch.fnmatch(content_type, p) for p in allowed)


def ensure_type_allowed(request: UploadRequest, name: str, content_type: str) -> None:
    """Raise InputError unless the request accepts a file of this name and media type."""
    if not _type_allowed(request, name, content_type):
        allowed = ", ".join(json.loads(request.allowed_types))
        raise InputError(f"{name!r} is not a type this upload link accepts ({allowed}).", field="name")


def start_file(
    session: Session,
    request: UploadRequest,
    *,
    submission_id: str,
    name: str,
    size: int,
    content_type: str | None,
) -> SubmissionFile:
    """Announce a file of a submission. Raises InputError (type), TooLarge (over the request's cap),
    NameInvalid."""
    submission = open_submission(session, request, submission_id)
    clean = clean_name(name)
    ctype = content_type or content_uploads.guess_content_type(clean)
    ensure_type_allowed(request, clean, ctype)
    declared = session.scalar(
        select(func.coalesce(func.sum(SubmissionFile.size), 0)).where(
            SubmissionFile.submission_id == submission.id
        )
    )
    if int(declared or 0) + size > request.max_bytes:
        raise TooLarge(
            f"This upload link accepts at most {request.max_bytes} bytes in all.", limit=request.max_bytes
        )
    taken = {
        name_key(n)
        for n in session.scalars(
            select(SubmissionFile.name).where(SubmissionFile.submission_id == submission.id)
        )
    }
    unique, n = clean, 1
    while name_key(unique) in taken:
        n += 1
        stem, dot, ext = clean.rpartition(".")
        unique = f"{stem} ({n}).{ext}" if dot and stem else f"{clean} ({n})"
    file = SubmissionFile(
        id=new_id("sf"), submission_id=submission.id, name=unique, size=size, received=0, content_type=ctype
    )
    session.add(file)
    session.flush()
    return file


@dataclass(frozen=True)
class ChunkPlan:
    file_id: str
    offset: int
    allowance: int  # the most bytes this chunk may carry
    chunk_id: str


def _submission_file(
    session: Session, request: UploadRequest, submission_id: str, file_id: str
) -> tuple[UploadSubmission, SubmissionFile]:
    submission = open_submission(session, request, submission_id)
    file = session.get(SubmissionFile, file_id)
    if file is None or file.submission_id != submission.id:
        raise NotFound("file", file_id)
    return submission, file


def file_offset(
    session: Session, request: UploadRequest, *, submission_id: str, file_id: str
) -> SubmissionFile:
    """Where a resumed upload carries on."""
    return _submission_file(session, request, submission_id, file_id)[1]


def prepare_chunk(
    session: Session, request: UploadRequest, *, submission_id: str, file_id: str, offset: int
) -> ChunkPlan:
    """Check a chunk before reading it: it must start where the file stands, and the running total of the
    submission stays under the request's cap. Raises Conflict (wrong offset), TooLarge."""
    submission, file = _submission_file(session, request, submission_id, file_id)
    if offset != file.received:
        raise Conflict(
            f"The upload of this file stands at byte {file.received}; send from there.", offset=file.received
        )
    allowance = min(file.size - file.received, request.max_bytes - submission.bytes_received)
    if allowance <= 0 and file.size > file.received:
        raise TooLarge(
            f"This upload link accepts at most {request.max_bytes} bytes in all.", limit=request.max_bytes
        )
    return ChunkPlan(file_id=file.id, offset=offset, allowance=allowance, chunk_id=new_id("chk"))


async def receive_chunk(
    chunks: AsyncIterable[bytes], plan: ChunkPlan, *, store: BlobStore, keys: KeyProvider, segment_bytes: int
) -> SealedBlob:
    """Seal one chunk into its own blob, refusing anything past the plan's allowance."""
    return await content_uploads.receive_stream(
        chunks,
        store=store,
        keys=keys,
        version_id=plan.chunk_id,
        segment_bytes=segment_bytes,
        max_bytes=plan.allowance,
    )


def commit_chunk(
    session: Session, request: UploadRequest, *, submission_id: str, plan: ChunkPlan, sealed: SealedBlob
) -> SubmissionFile:
    """Record a durable chunk. Raises Conflict if another chunk for the same offset won meanwhile."""
    submission, file = _submission_file(session, request, submission_id, plan.file_id)
    if file.received != plan.offset:
        raise Conflict(
            f"The upload of this file stands at byte {file.received}; send from there.", offset=file.received
        )
    if submission.bytes_received + sealed.size > request.max_bytes:
        raise TooLarge(
            f"This upload link accepts at most {request.max_bytes} bytes in all.", limit=request.max_bytes
        )
    session.add(
        SubmissionChunk(
            id=plan.chunk_id,
            file_id=file.id,
            offset=plan.offset,
            size=sealed.size,
            blob_key=sealed.blob_key,
            kek_id=sealed.wrapped_dek.kek_id,
            wrapped_dek=sealed.wrapped_dek.ciphertext,
        )
    )
    file.received += sealed.size
    submission.bytes_received += sealed.size
    session.flush()
    return file


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


def join_chunks(plan: JoinPlan, *, store: BlobStore, keys: KeyProvider, segment_bytes: int) -> SealedBlob:
    """Decrypt the chunks in order into one new sealed blob, hashing the whole file on the way (blocking)."""
    writer = SealedBlobWriter(
        store=store, keys=keys, aad_id=plan.upload.version_id.encode(), segment_size=segment_bytes
    )
    try:
        for (blob_key, kek_id, wrapped, size), chunk_id in zip(plan.chunks, plan.chunk_ids, strict=True):
            if size == 0:
                continue
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


def referenced_blob_keys(session: Session) -> set[str]:
    """Blobs of chunks still waiting for their submission: the garbage collector must keep them."""
    return set(session.scalars(select(SubmissionChunk.blob_key)))


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
