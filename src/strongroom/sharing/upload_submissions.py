"""Submissions to an upload request: the form, its own subfolder, and files received in
offset-addressed chunks, so a broken upload of a large CCTV export resumes where it stopped. The
request's size cap holds for the running total of a submission's bytes, whatever the chunking, and its
type limits for every file.
"""

import fnmatch
import json
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.actors import Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock
from strongroom.content import folders as content_folders
from strongroom.content import uploads as content_uploads
from strongroom.content.folders import ref
from strongroom.content.names import clean_name, name_key
from strongroom.db.base import new_id
from strongroom.errors import Conflict, InputError, NotFound, TooLarge
from strongroom.identity import users as identity_users
from strongroom.sharing.models import SubmissionChunk, SubmissionFile, UploadRequest, UploadSubmission
from strongroom.sharing.upload_requests import fields_of, submitter_actor
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider
from strongroom.storage.sealed_blobs import SealedBlob

MAX_FIELD_CHARS = 5000


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


def referenced_blob_keys(session: Session) -> set[str]:
    """Blobs of chunks still waiting for their submission: the garbage collector must keep them."""
    return set(session.scalars(select(SubmissionChunk.blob_key)))
