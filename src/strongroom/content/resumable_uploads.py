"""Resumable uploads (the tus protocol's rules, without HTTP): create, append, finish, terminate, expire.

An upload is a TusUpload row plus a resumable sealed blob (storage/resumable.py). Each request
that carries bytes (a tus PATCH):

1. takes a lease on the row in a short transaction that locks the row (SELECT ... FOR UPDATE on
   PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers), after checking that its offset is the
   row's `received`: two requests never write one upload, and a stale client is told where to go on.
   The lease names its owner, the process (`BlobStore.writer_id`); a lease whose owner the store
   knows is gone (a crashed or restarted server) is taken over at once, otherwise it holds until
   `lease_until` (renewed while the bytes flow);
2. streams the bytes through hashing and sealing straight into the blob store, with the same
   pipelining as content/uploads.receive_stream (the event loop receives while a thread hashes);
3. makes them durable (fsync, and the part-filled last segment sealed as the row's tail), then
   commits the new `received` and drops the lease in one transaction: only then is the offset
   reported. If the client goes away mid-body, what arrived is kept the same way (unless it sent a
   checksum, which can then not be checked);
4. on the last byte, seals the last segment, completes the blob and records the version with
   content/uploads.commit_upload: the same checks, version record and audit events as a plain PUT.

The SHA-256 state between requests lives in a per-process HashCache keyed by (upload, offset);
another process re-derives it from the stored bytes, so any server can continue any upload, even
after a restart.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.content import uploads
from strongroom.content.models import TusUpload
from strongroom.db.base import new_id
from strongroom.db.session import transaction
from strongroom.errors import Conflict, Gone, InputError, NotFound, TooLarge
from strongroom.jobs.queue import JobQueue
from strongroom.storage.blobs import BlobStore, new_blob_key
from strongroom.storage.keys import KeyProvider, WrappedKey, new_data_key
from strongroom.storage.resumable import ResumeState
from strongroom.storage.sealed_blobs import SealedBlob
from strongroom.storage.sealed_stream import FORMAT_STORED_NONCES, new_header, parse_header

DEFAULT_EXPIRY: Final = timedelta(hours=24)
"""An upload untouched this long is abandoned: its row and stored bytes are removed."""
LEASE: Final = timedelta(minutes=5)
"""How long one request may hold an upload without showing signs of life."""


class OffsetMismatch(Conflict):
    """The request's offset is not where the upload is: the client should ask (HEAD) and resend."""

    code = "offset_mismatch"


class UploadBusy(Conflict):
    """Another request is writing this upload right now; retry shortly."""

    code = "upload_busy"


@dataclass(frozen=True)
class UploadStatus:
    id: str
    length: int
    received: int
    expires_at: datetime | None
    upload_metadata: str | None
    file_id: str | None


def status_of(upload: TusUpload) -> UploadStatus:
    return UploadStatus(
        id=upload.id,
        length=upload.length,
        received=upload.received,
        expires_at=None if upload.completed_at else upload.expires_at,
        upload_metadata=upload.upload_metadata,
        file_id=upload.file_id,
    )


def create_upload(
    session: Session,
    actor: Actor,
    *,
    folder_id: str,
    name: str,
    length: int,
    content_type: str | None,
    upload_metadata: str | None,
    keys: KeyProvider,
    clock: Clock,
    segment_bytes: int,
    max_bytes: int,
    expiry: timedelta = DEFAULT_EXPIRY,
) -> TusUpload:
    """Start an upload of `length` bytes into a folder. Raises as uploads.prepare_upload, and TooLarge."""
    if length < 0:
        raise InputError("Upload-Length must be a non-negative integer.", field="Upload-Length")
    if length > max_bytes:
        raise TooLarge(f"The file is larger than the limit of {max_bytes} bytes.", limit=max_bytes)
    plan = uploads.prepare_upload(session, actor, folder_id=folder_id, name=name)
    blob_key = new_blob_key()
    wrapped = keys.wrap_data_key(new_data_key(), context=blob_key.encode("ascii"))
    now = clock.now()
    upload = TusUpload(
        id=new_id("tus"),
        created_by_id=actor.id or "",
        folder_id=plan.folder_id,
        name=plan.name,
        content_type=content_type,
        upload_metadata=upload_metadata,
        length=length,
        received=0,
        version_id=plan.version_id,
        blob_key=blob_key,
        # Stored nonces: a segment refused or lost in a crash is sealed again under this same key.
        blob_header=new_header(segment_size=segment_bytes, version=FORMAT_STORED_NONCES),
        kek_id=wrapped.kek_id,
        wrapped_dek=wrapped.ciphertext,
        created_at=now,
        updated_at=now,
        expires_at=now + expiry,
    )
    session.add(upload)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.UPLOAD_STARTED,
        item=ItemRef(kind="folder", id=plan.folder_id),
        details={"upload_id": upload.id, "name": plan.name, "length": length},
        at=now,
    )
    return upload


def get_upload(
    session: Session, actor: Actor, upload_id: str, *, clock: Clock, for_update: bool = False
) -> TusUpload:
    """The actor's own upload into a folder they may still upload into. Raises NotFound (missing, someone
    else's, or no longer theirs to write) and Gone (expired). `for_update` locks the row until the
    transaction ends (the lease is decided under it)."""
    upload = session.get(TusUpload, upload_id, with_for_update=for_update)
    if upload is None or actor.id is None or upload.created_by_id != actor.id:
        raise NotFound("upload", upload_id)
    # Rights are decided now, not when the upload began: someone whose grant on the folder was removed
    # meanwhile learns nothing more of it than of a random id.
    try:
        access_folder(session, actor, upload.folder_id, Action.UPLOAD)
    except NotFound:
        raise NotFound("upload", upload_id) from None
    if upload.completed_at is None and upload.expires_at <= clock.now():
        raise Gone("This upload expired; start a new one.")
    return upload


@dataclass(frozen=True)
class Lease:
    upload_id: str
    token: str
    state: ResumeState
    completed: bool


def _busy(upload: TusUpload, *, store: BlobStore, now: datetime) -> bool:
    """Whether a live request holds the upload: a lease not yet expired, of a writer not known gone."""
    if upload.completed_at is not None or upload.lease_until is None or upload.lease_until <= now:
        return False
    return upload.lease_owner is None or not store.writer_gone(upload.lease_owner)


def take_lease(
    session: Session,
    actor: Actor,
    *,
    upload_id: str,
    offset: int,
    keys: KeyProvider,
    store: BlobStore,
    clock: Clock,
    expiry: timedelta = DEFAULT_EXPIRY,
) -> Lease:
    """Reserve the upload for one request that writes at `offset`. Raises NotFound, Gone,
    OffsetMismatch (the upload is elsewhere) and UploadBusy (another live request holds it)."""
    upload = get_upload(session, actor, upload_id, clock=clock, for_update=True)
    now = clock.now()
    if offset != upload.received:
        raise OffsetMismatch(
            f"The upload is at offset {upload.received}, not {offset}.", offset=upload.received
        )
    if _busy(upload, store=store, now=now):
        raise UploadBusy("Another request is writing this upload; retry shortly.")
    token = secrets.token_hex(16)
    if upload.completed_at is None and upload.received == 0 and upload.blob_header[4] != FORMAT_STORED_NONCES:
        # Started before format 2: with nothing acknowledged yet it can still switch (a resume at 0
        # rewrites the header); one further along keeps format 1 to the end.
        segment_size = parse_header(upload.blob_header).segment_size
        upload.blob_header = new_header(segment_size=segment_size, version=FORMAT_STORED_NONCES)
    if upload.completed_at is None:
        upload.lease_token, upload.lease_until = token, now + LEASE
        upload.lease_owner = store.writer_id
        upload.expires_at = max(upload.expires_at, now + expiry)
    wrapped = WrappedKey(kek_id=upload.kek_id, ciphertext=upload.wrapped_dek)
    state = ResumeState(
        blob_key=upload.blob_key,
        aad_id=upload.version_id.encode(),
        header=upload.blob_header,
        dek=keys.unwrap_data_key(wrapped, context=upload.blob_key.encode("ascii")),
        wrapped_dek=wrapped,
        total_size=upload.length,
        received=upload.received,
        sealed_tail=upload.sealed_tail,
    )
    return Lease(upload_id=upload.id, token=token, state=state, completed=upload.completed_at is not None)


def _held(session: Session, lease: Lease) -> TusUpload:
    upload = session.get(TusUpload, lease.upload_id, with_for_update=True)
    if upload is None or upload.lease_token != lease.token:
        raise UploadBusy("This request lost its hold on the upload (it was idle too long); resume it.")
    return upload


def renew_lease(session: Session, lease: Lease, *, clock: Clock) -> None:
    """Extend a held lease. Raises UploadBusy if it was lost."""
    _held(session, lease).lease_until = clock.now() + LEASE


def acknowledge(
    session: Session, lease: Lease, *, received: int, sealed_tail: bytes | None, clock: Clock
) -> TusUpload:
    """Record that the bytes up to `received` are durable, and release the lease."""
    upload = _held(session, lease)
    now = clock.now()
    upload.received, upload.sealed_tail = received, sealed_tail
    upload.lease_token = upload.lease_until = upload.lease_owner = None
    upload.updated_at = now
    upload.expires_at = max(upload.expires_at, now + DEFAULT_EXPIRY)
    return upload


def release(session: Session, lease: Lease) -> None:
    """Drop the lease without recording progress (a refused chunk)."""
    session.execute(
        update(TusUpload)
        .where(TusUpload.id == lease.upload_id, TusUpload.lease_token == lease.token)
        .values(lease_token=None, lease_until=None, lease_owner=None)
    )


def complete(
    session: Session,
    actor: Actor,
    lease: Lease,
    *,
    sealed: SealedBlob,
    clock: Clock,
    store: BlobStore,
    keys: KeyProvider,
    jobs: JobQueue | None = None,
) -> TusUpload:
    """Record the finished blob as a file version, exactly as a plain upload does. Raises as commit_upload."""
    upload = _held(session, lease)
    plan = uploads.UploadPlan(
        folder_id=upload.folder_id, name=upload.name, version_id=upload.version_id, existing_file_id=None
    )
    file, _version = uploads.commit_upload(
        session,
        actor,
        plan=plan,
        sealed=sealed,
        clock=clock,
        store=store,
        keys=keys,
        content_type=upload.content_type,
        jobs=jobs,
    )
    now = clock.now()
    upload.received, upload.sealed_tail = sealed.size, None
    upload.lease_token = upload.lease_until = upload.lease_owner = None
    upload.completed_at = upload.updated_at = now
    upload.file_id = file.id
    # Kept a while so that a client that lost the last response can still HEAD it.
    upload.expires_at = now + DEFAULT_EXPIRY
    return upload


def terminate(
    session: Session, actor: Actor, *, upload_id: str, store: BlobStore, clock: Clock
) -> str | None:
    """Delete an upload (tus termination). Returns the blob key whose resumable partial the caller
    discards after commit, or None when the upload had completed (its blob now belongs to a version)."""
    upload = get_upload(session, actor, upload_id, clock=clock, for_update=True)
    now = clock.now()
    if _busy(upload, store=store, now=now):
        raise UploadBusy("Another request is writing this upload; retry shortly.")
    key = None if upload.completed_at else upload.blob_key
    if key is not None:
        events.record(
            session,
            actor,
            AuditAction.UPLOAD_TERMINATED,
            item=ItemRef(kind="folder", id=upload.folder_id),
            details={"upload_id": upload.id, "name": upload.name, "received": upload.received},
            at=now,
        )
    session.delete(upload)
    return key


def expire_uploads(
    sessions: sessionmaker[Session], store: BlobStore, *, clock: Clock, batch: int = 500
) -> int:
    """Remove uploads past their expiry and their stored bytes; returns how many. The periodic task."""
    removed = 0
    with transaction(sessions) as session:
        expired = list(
            session.scalars(select(TusUpload).where(TusUpload.expires_at < clock.now()).limit(batch))
        )
        for upload in expired:
            if upload.completed_at is None:
                # Bytes first: if the transaction then fails, the row stays expired and the next run retries.
                store.discard_resumable(upload.blob_key)
                events.record(
                    session,
                    Actor.system(label="upload expiry"),
                    AuditAction.UPLOAD_EXPIRED,
                    item=ItemRef(kind="folder", id=upload.folder_id),
                    details={"upload_id": upload.id, "name": upload.name, "received": upload.received},
                    at=clock.now(),
                )
            session.delete(upload)
            removed += 1
    return removed
