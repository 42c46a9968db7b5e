"""The upload hot path: stream → SHA-256 + seal → durable blob → one transaction records the version.

Order matters, and it is the point of this module:
1. `prepare_upload` checks permission and the name in a short transaction *before* any byte is read,
   so a refused upload costs the client nothing.
2. `receive_stream` hashes and seals the bytes into a new blob while they arrive, in constant memory:
   the event loop copies segment i+1 into the writer's buffer while a pool thread hashes and seals
   segment i.
3. `commit_upload` runs only after the blob store made the blob durable. It re-checks permission and
   name (they may have changed while the bytes streamed) and writes the version and its audit event in
   one transaction. A crash before this commit leaves an orphan blob for `gc.collect_orphan_blobs`,
   never a version pointing at missing or partial bytes.
"""

import asyncio
import hmac
import mimetypes
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder, effective_label
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content import media_types
from strongroom.content.folders import flush_name, ref
from strongroom.content.locks import ensure_unlocked_for
from strongroom.content.models import File, FileVersion, Item
from strongroom.content.names import clean_name, name_key
from strongroom.content.preconditions import WritePrecondition
from strongroom.db.base import new_id
from strongroom.errors import Conflict, DigestMismatch, TooLarge
from strongroom.jobs.queue import JobQueue
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider
from strongroom.storage.sealed_blobs import SealedBlob, SealedBlobWriter, read_plaintext


@dataclass(frozen=True)
class UploadPlan:
    """What an accepted upload will become; `version_id` is bound into the blob's AAD."""

    folder_id: str
    name: str
    version_id: str
    existing_file_id: str | None


def find_live_child(session: Session, folder_id: str, name: str) -> Item | None:
    return session.scalar(
        select(Item).where(
            Item.parent_id == folder_id, Item.name_key == name_key(name), Item.trashed_at.is_(None)
        )
    )


def prepare_upload(
    session: Session,
    actor: Actor,
    *,
    folder_id: str,
    name: str,
    precondition: WritePrecondition | None = None,
) -> UploadPlan:
    """Check that `actor` may put a file named `name` into the folder. Raises NotFound, NameInvalid,
    Conflict (a folder has that name), ItemLocked, VersionChanged/ItemExists (`precondition` fails)."""
    folder = access_folder(session, actor, folder_id, Action.UPLOAD)
    clean = clean_name(name)
    existing = find_live_child(session, folder.id, clean)
    if existing is not None and not isinstance(existing, File):
        raise Conflict(f"A folder named {existing.name!r} is already in this folder.", name=clean)
    if precondition is not None:
        precondition.check(existing)
    if existing is not None:
        ensure_unlocked_for(existing, actor)
    return UploadPlan(
        folder_id=folder.id,
        name=clean,
        version_id=new_id("ver"),
        existing_file_id=existing.id if existing else None,
    )


async def receive_stream(
    chunks: AsyncIterable[bytes],
    *,
    store: BlobStore,
    keys: KeyProvider,
    version_id: str,
    segment_bytes: int,
    max_bytes: int,
    expected_sha256: bytes | None = None,
) -> SealedBlob:
    """Seal a stream into a durable blob. On any failure (too large, digest mismatch, the client went
    away) the partial blob is removed and the error propagates: nothing is stored."""
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=version_id.encode(), segment_size=segment_bytes)
    loop = asyncio.get_running_loop()
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > max_bytes:
                raise TooLarge(  # noqa: TRY301 - the except below must abort the writer for this too
                    f"The file is larger than the limit of {max_bytes} bytes.", limit=max_bytes
                )
            # Copies the chunk into the writer's segment buffer; a pool thread hashes and seals
            # each full segment while the loop receives the next (one hop per segment).
            await writer.write_async(chunk)
        sealed = await loop.run_in_executor(None, writer.finish)
    except BaseException:
        await writer.settle()
        await loop.run_in_executor(None, writer.abort)
        raise
    if expected_sha256 is not None and not hmac.compare_digest(expected_sha256, sealed.sha256):
        store.delete(sealed.blob_key)
        raise DigestMismatch(
            "The body does not match the digest sent with it; nothing was stored.",
            received=sealed.sha256.hex(),
            expected=expected_sha256.hex(),
        )
    return sealed


# What clients send when they do not know the type; the name then decides (guess_content_type).
GENERIC_CONTENT_TYPES = frozenset({"", "application/octet-stream", "application/x-www-form-urlencoded"})


def declared_content_type(header: str | None) -> str | None:
    """The content type a client declared, or None when it declared nothing useful."""
    return None if header is None or header in GENERIC_CONTENT_TYPES else header


def guess_content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def read_head(*, store: BlobStore, keys: KeyProvider, sealed: SealedBlob, aad_id: bytes) -> bytes:
    """The first bytes of a sealed blob (one segment is decrypted), for sniffing its type."""
    if sealed.size == 0:
        return b""
    return b"".join(
        read_plaintext(
            store=store,
            keys=keys,
            blob_key=sealed.blob_key,
            wrapped_dek=sealed.wrapped_dek,
            aad_id=aad_id,
            plaintext_size=sealed.size,
            end_inclusive=min(sealed.size, media_types.HEAD_BYTES) - 1,
        )
    )


def commit_upload(
    session: Session,
    actor: Actor,
    *,
    plan: UploadPlan,
    sealed: SealedBlob,
    clock: Clock,
    store: BlobStore,
    keys: KeyProvider,
    content_type: str | None = None,
    scan_status: str = "not_required",
    jobs: JobQueue | None = None,
    precondition: WritePrecondition | None = None,
) -> tuple[File, FileVersion]:
    """Record a durable blob as a new file, or a new version of the file of that name. Raises as
    `prepare_upload` (the tree may have changed while the bytes streamed). The stored type comes from
    the bytes (media_types.stored_type); the client's `content_type` only names formats we cannot
    sniff. With `jobs`, a preview rendition is queued in the same transaction, whichever door the
    bytes came through."""
    folder = access_folder(session, actor, plan.folder_id, Action.UPLOAD)
    now = clock.now()
    existing = find_live_child(session, folder.id, plan.name)
    if existing is not None and not isinstance(existing, File):
        raise Conflict(f"A folder named {existing.name!r} is already in this folder.", name=plan.name)
    if precondition is not None and not precondition.is_empty:
        if existing is not None:
            # Two conditional writes racing on one file: the row lock makes the second see the first.
            session.refresh(existing, with_for_update=True)
        precondition.check(existing)
    head = read_head(store=store, keys=keys, sealed=sealed, aad_id=plan.version_id.encode())
    ctype = media_types.stored_type(name=plan.name, declared=content_type, head=head)
    if existing is None:
        file = File(
            id=new_id("fi"),
            sort_group=1,
            parent_id=folder.id,
            owner_id=folder.owner_id,
            name=plan.name,
            name_key=name_key(plan.name),
            created_at=now,
            updated_at=now,
            created_by_id=actor.user_id,
            classification=effective_label(session, folder),  # a folder's label is the floor below it
        )
        session.add(file)
        flush_name(session, file)
        events.record(
            session, actor, AuditAction.FILE_CREATED, item=ref(file), details={"folder_id": folder.id}, at=now
        )
        number = 1
    else:
        file = existing
        ensure_unlocked_for(file, actor, now=now)
        number = next_version_number(session, file.id)
    version = FileVersion(
        id=plan.version_id,
        file_id=file.id,
        number=number,
        size=sealed.size,
        sha256=sealed.sha256.hex(),
        content_type=ctype,
        blob_key=sealed.blob_key,
        sealed_for_id=plan.version_id,
        segment_size=sealed.segment_size,
        kek_id=sealed.wrapped_dek.kek_id,
        wrapped_dek=sealed.wrapped_dek.ciphertext,
        created_at=now,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
        scan_status=scan_status,
    )
    session.add(version)
    make_current(file, version, now=now)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.VERSION_CREATED,
        item=ref(file),
        details={"version_id": version.id, "number": number, "size": sealed.size, "sha256": version.sha256},
        at=now,
    )
    if jobs is not None:
        from strongroom.content import (
            renditions,
            thumbnails,
        )  # renditions reads versions; import late to keep one direction

        renditions.enqueue_preview(session, jobs, version)
        thumbnails.enqueue_thumbnail(session, jobs, version)
        from strongroom.skills import runs  # skills read versions; late import keeps one direction

        runs.enqueue_skills(session, jobs, version)
    return file, version


def next_version_number(session: Session, file_id: str) -> int:
    return (
        session.scalar(select(func.max(FileVersion.number)).where(FileVersion.file_id == file_id)) or 0
    ) + 1


def make_current(file: File, version: FileVersion, *, now: datetime) -> None:
    file.current_version_id = version.id
    file.size = version.size
    file.sha256 = version.sha256
    file.content_type = version.content_type
    file.scan_status = version.scan_status
    file.updated_at = now
    file.revision += 1
