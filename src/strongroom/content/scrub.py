"""Integrity scrub: re-read every stored blob (versions and renditions), check it, report incidents.

One check (`check_blob`: the blob's length, every segment's authentication, nothing after the final
segment, and the plaintext SHA-256 against the recorded one) serves three callers:

* `scrub_step`, the worker's periodic task: rate-limited to a set number of bytes per second, it
  checks up to a budget per run and remembers the last blob it checked (ScrubPosition), so the
  next run resumes there and a pass over a large store spreads over many runs;
* `verify_all`, behind `strongroom verify`: every blob, at full speed, with a report;
* and the failure record itself, `record_tampering`, which every other reader of sealed bytes
  reaches through `tampering_recorded` (downloads, the virus scan, previews, thumbnails, skills,
  upload-request joining): each failure is a `storage.blob.tampered` audit event naming the file
  and version (or rendition, or upload-request chunk), so an incident never goes unrecorded.
"""

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.content.models import FileRendition, FileVersion, ScrubPosition
from strongroom.db.session import transaction
from strongroom.errors import NotFound, StrongroomError
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_blobs import verify_blob
from strongroom.storage.sealed_stream import CorruptBlob

KINDS: Final = ("version", "rendition")
_POSITION: Final = "default"
_PAGE: Final = 200


@dataclass(frozen=True)
class StoredBlob:
    """One blob a record names, with what is needed to check it."""

    kind: str  # "version" | "rendition"
    id: str
    file_id: str
    version_id: str
    blob_key: str
    size: int
    sha256: str
    aad_id: bytes
    wrapped_dek: WrappedKey


def _page(session: Session, kind: str, after: str | None) -> list[StoredBlob]:
    if kind == "version":
        query = select(FileVersion).order_by(FileVersion.id).limit(_PAGE)
        if after is not None:
            query = query.where(FileVersion.id > after)
        return [
            StoredBlob(
                kind=kind,
                id=v.id,
                file_id=v.file_id,
                version_id=v.id,
                blob_key=v.blob_key,
                size=v.size,
                sha256=v.sha256,
                aad_id=v.sealed_for_id.encode(),
                wrapped_dek=WrappedKey(kek_id=v.kek_id, ciphertext=v.wrapped_dek),
            )
            for v in session.scalars(query)
        ]
    query_r = (
        select(FileRendition, FileVersion.file_id)
        .join(FileVersion, FileVersion.id == FileRendition.version_id)
        .where(FileRendition.status == "ready", FileRendition.blob_key.is_not(None))
        .order_by(FileRendition.id)
        .limit(_PAGE)
    )
    if after is not None:
        query_r = query_r.where(FileRendition.id > after)
    return [
        StoredBlob(
            kind=kind,
            id=r.id,
            file_id=file_id,
            version_id=r.version_id,
            blob_key=r.blob_key or "",
            size=r.size,
            sha256=r.sha256 or "",
            aad_id=r.id.encode(),
            wrapped_dek=WrappedKey(kek_id=r.kek_id or "", ciphertext=r.wrapped_dek or b""),
        )
        for r, file_id in session.execute(query_r)
    ]


def stored_blobs(
    sessions: sessionmaker[Session], *, start: tuple[str, str] | None = None
) -> Iterator[StoredBlob]:
    """Every blob a version or a ready rendition names, by kind then id, after `start` (kind, id)."""
    kinds = KINDS if start is None else KINDS[KINDS.index(start[0]) :]
    for kind in kinds:
        after = start[1] if start is not None and kind == start[0] else None
        while True:
            with transaction(sessions) as session:
                page = _page(session, kind, after)
            yield from page
            if len(page) < _PAGE:
                break
            after = page[-1].id


def stored_count(sessions: sessionmaker[Session]) -> int:
    """How many blobs `stored_blobs` will yield (for a progress bar; new uploads may add a few)."""
    with transaction(sessions) as session:
        versions = session.scalar(select(func.count()).select_from(FileVersion)) or 0
        renditions = session.scalar(
            select(func.count())
            .select_from(FileRendition)
            .where(FileRendition.status == "ready", FileRendition.blob_key.is_not(None))
        )
    return versions + (renditions or 0)


def check_blob(store: BlobStore, keys: KeyProvider, blob: StoredBlob) -> str | None:
    """None if the blob is whole and its plaintext has the recorded SHA-256; else what is wrong."""
    try:
        digest = verify_blob(
            store=store,
            keys=keys,
            blob_key=blob.blob_key,
            wrapped_dek=blob.wrapped_dek,
            aad_id=blob.aad_id,
            plaintext_size=blob.size,
        )
    except NotFound:
        return "the blob is missing from the blob store"
    except StrongroomError as exc:
        return exc.message
    if digest.hex() != blob.sha256:
        return "the SHA-256 of the decrypted bytes differs from the recorded hash"
    return None


def record_tampering(
    session: Session,
    actor: Actor,
    *,
    blob: StoredBlob | None = None,
    item: ItemRef | None = None,
    problem: str,
    clock: Clock,
    ids: Mapping[str, str] | None = None,
) -> None:
    """Write the `storage.blob.tampered` incident event for a blob that failed its check: about its
    file, or `item` where the blob is not yet a file's (an upload request's chunk)."""
    ids = ids or {}
    details: dict[str, object] = {"problem": problem}
    file_id = ids.get("file_id", "")
    if blob is not None:
        file_id = blob.file_id
        details |= {"version_id": blob.version_id, "blob_key": blob.blob_key}
        if blob.kind == "rendition":
            details["rendition_id"] = blob.id
    details |= {key: value for key, value in ids.items() if key != "file_id"}
    events.record(
        session,
        actor,
        AuditAction.BLOB_TAMPERED,
        item=item or ItemRef(kind="file", id=file_id),
        details=details,
        at=clock.now(),
    )


@contextmanager
def tampering_recorded(
    sessions: sessionmaker[Session],
    *,
    found_by: str,
    clock: Clock,
    ids: Mapping[str, str],
    item: ItemRef | None = None,
) -> Iterator[None]:
    """Record a `storage.blob.tampered` incident (in its own transaction) for a CorruptBlob raised
    inside, then let it go on: the one way every reader of sealed bytes reports tampering."""
    try:
        yield
    except CorruptBlob as exc:
        with transaction(sessions) as session:
            actor = Actor.system(label=found_by)
            record_tampering(session, actor, item=item, problem=exc.message, clock=clock, ids=ids)
        raise


@dataclass
class VerifyReport:
    checked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    bytes: int = 0
    failures: list[str] = field(default_factory=list)


def _check_and_report(
    sessions: sessionmaker[Session],
    store: BlobStore,
    keys: KeyProvider,
    blob: StoredBlob,
    *,
    report: VerifyReport,
    clock: Clock,
    found_by: str,
) -> None:
    report.checked[blob.kind] += 1
    report.bytes += blob.size
    problem = check_blob(store, keys, blob)
    if problem is None:
        return
    report.failures.append(f"{blob.kind} {blob.id} (file {blob.file_id}): {problem}")
    with transaction(sessions) as session:
        record_tampering(session, Actor.system(label=found_by), blob=blob, problem=problem, clock=clock)


def verify_all(
    sessions: sessionmaker[Session],
    store: BlobStore,
    keys: KeyProvider,
    *,
    clock: Clock,
    progress: Callable[[StoredBlob], None] | None = None,
) -> VerifyReport:
    """Check every stored version and rendition now (`strongroom verify`); incidents are audited."""
    report = VerifyReport()
    for blob in stored_blobs(sessions):
        if progress:
            progress(blob)
        _check_and_report(sessions, store, keys, blob, report=report, clock=clock, found_by="verify")
    with transaction(sessions) as session:
        events.record(
            session,
            Actor.system(label="verify"),
            AuditAction.BLOBS_VERIFIED,
            details={**report.checked, "failures": len(report.failures)},
            at=clock.now(),
        )
    return report


def scrub_step(
    sessions: sessionmaker[Session],
    store: BlobStore,
    keys: KeyProvider,
    *,
    clock: Clock,
    bytes_per_second: int,
    bytes_per_run: int,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifyReport:
    """Check blobs from where the last run stopped, at most `bytes_per_second`, until `bytes_per_run`
    bytes were read or the pass ends (then the next run starts a new pass). Incidents are audited."""
    report = VerifyReport()
    with transaction(sessions) as session:
        position = session.get(ScrubPosition, _POSITION)
        start = (position.kind, position.last_id) if position is not None else None
    began = time.monotonic()
    finished_pass = True
    for blob in stored_blobs(sessions, start=start):
        _check_and_report(sessions, store, keys, blob, report=report, clock=clock, found_by="scrub")
        _remember(sessions, blob, clock=clock)
        # Never faster than the set rate: sleep until the bytes read so far are within it.
        ahead = report.bytes / bytes_per_second - (time.monotonic() - began)
        if ahead > 0:
            sleep(ahead)
        if report.bytes >= bytes_per_run:
            finished_pass = False
            break
    if finished_pass:
        with transaction(sessions) as session:
            if (row := session.get(ScrubPosition, _POSITION)) is not None:
                session.delete(row)
            events.record(
                session,
                Actor.system(label="scrub"),
                AuditAction.BLOBS_VERIFIED,
                details={**report.checked, "failures": len(report.failures), "pass_completed": True},
                at=clock.now(),
            )
    return report


def _remember(sessions: sessionmaker[Session], blob: StoredBlob, *, clock: Clock) -> None:
    with transaction(sessions) as session:
        row = session.get(ScrubPosition, _POSITION)
        if row is None:
            row = ScrubPosition(name=_POSITION, kind=blob.kind, last_id=blob.id, updated_at=clock.now())
            session.add(row)
        row.kind, row.last_id, row.updated_at = blob.kind, blob.id, clock.now()
