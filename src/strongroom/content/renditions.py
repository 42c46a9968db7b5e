"""Preview renditions: a browser-friendly copy of a version that is never the original bytes.

Preview-only access (a previewer's role, a preview-only link) is served from here and only from
here. ffmpeg makes audio into AAC/M4A, video into H.264 MP4 (720p, faststart, so players can seek
by Range), and images into a resized JPEG; LibreOffice makes Word, Excel, PowerPoint and
OpenDocument files into a PDF (office.py). The rendition is sealed like a version, with its own key.
"""

import shutil
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from strongroom.access.actions import Action
from strongroom.access.loaders import access_file, effective_label
from strongroom.actors import Actor
from strongroom.audit import events, reasons
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.config import PreviewSettings
from strongroom.content import media_types, office, playbacks, scrub, transcoding
from strongroom.content.folders import ref
from strongroom.content.models import File, FileRendition, FileVersion
from strongroom.content.reads import READABLE_SCAN_STATES, ContentToSend, parse_range
from strongroom.db.base import new_id
from strongroom.db.session import transaction
from strongroom.errors import NotFound, Unavailable
from strongroom.jobs.queue import JobQueue
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_blobs import SealedBlob, SealedBlobWriter, read_plaintext
from strongroom.storage.sealed_stream import CorruptBlob

JOB_KIND = "content.render_preview"
PREVIEW = "preview"
DOCUMENT = "document"  # the family LibreOffice renders into a PDF
NOT_PREVIEWABLE = "not audio, video, an image or an office document"

# (output suffix, content type, ffmpeg output arguments) per media family.
RECIPES: dict[str, tuple[str, str, list[str]]] = {
    "audio": (".m4a", "audio/mp4", ["-vn", "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart"]),
    "video": (
        ".mp4",
        "video/mp4",
        [
            "-vf",
            "scale=-2:'min(720,ih)'",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "26",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-movflags",
            "+faststart",
        ],
    ),
    "image": (".jpg", "image/jpeg", ["-frames:v", "1", "-vf", "scale='min(1600,iw)':-2", "-q:v", "4"]),
}


def family_of(content_type: str | None) -> str | None:
    """Which recipe fits a stored media type, or None when no preview can be made. New versions store
    the type sniffed from their bytes; the worker sniffs again before ffmpeg runs, whatever is stored."""
    if office.is_document(content_type):
        return DOCUMENT
    sniffed = media_types.media_family((content_type or "").split(";")[0].strip().lower() or None)
    major = (content_type or "").partition("/")[0]
    return sniffed or (major if major in RECIPES else None)


def enqueue_preview(session: Session, jobs: JobQueue, version: FileVersion) -> bool:
    """Queue rendering in the caller's transaction, for media that can be previewed and may be read."""
    if family_of(version.content_type) is None or version.scan_status not in READABLE_SCAN_STATES:
        return False
    jobs.enqueue(session, JOB_KIND, {"version_id": version.id})
    return True


def ffmpeg_missing() -> str | None:
    if shutil.which("ffmpeg") is None:
        return "ffmpeg is not installed (apt-get install ffmpeg); previews cannot be made"
    return None


@dataclass(frozen=True)
class RenditionSource:
    """A version to render, read in one short transaction so no lock is held while tools run."""

    version_id: str
    file_id: str
    rendition_id: str
    content_type: str | None
    size: int
    blob_key: str
    aad_id: bytes
    wrapped_dek: WrappedKey


@dataclass(frozen=True)
class _Made:
    sealed: SealedBlob
    content_type: str


def plan_rendition(session: Session, version_id: str, *, kind: str = PREVIEW) -> RenditionSource | None:
    """What to render for a version (None: gone, not yet scanned, or already made)."""
    version = session.get(FileVersion, version_id)
    if version is None or version.scan_status not in READABLE_SCAN_STATES:
        return None
    existing = session.scalar(
        select(FileRendition).where(FileRendition.version_id == version.id, FileRendition.kind == kind)
    )
    if existing is not None and existing.status == "ready":
        return None
    return RenditionSource(
        version_id=version.id,
        file_id=version.file_id,
        content_type=version.content_type,
        size=version.size,
        blob_key=version.blob_key,
        rendition_id=existing.id if existing else new_id("rn"),
        aad_id=version.sealed_for_id.encode(),
        wrapped_dek=WrappedKey(kek_id=version.kek_id, ciphertext=version.wrapped_dek),
    )


def seal_file(
    path: Path, *, store: BlobStore, keys: KeyProvider, aad_id: bytes, segment_bytes: int
) -> SealedBlob:
    writer = SealedBlobWriter(store=store, keys=keys, aad_id=aad_id, segment_size=segment_bytes)
    try:
        with path.open("rb") as data:
            while piece := data.read(segment_bytes):
                writer.write(piece)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def rendition_row(session: Session, source: RenditionSource, *, kind: str, now: datetime) -> FileRendition:
    """The rendition's row, added now if this is its first outcome (a retried job finds it there)."""
    rendition = session.get(FileRendition, source.rendition_id) or FileRendition(
        id=source.rendition_id, version_id=source.version_id, kind=kind, created_at=now
    )
    session.add(rendition)
    return rendition


def point_at_sealed(rendition: FileRendition, sealed: SealedBlob) -> None:
    """Point a made rendition at its sealed blob: size, digest, blob key, segment size, wrapped key."""
    rendition.size, rendition.sha256 = sealed.size, sealed.sha256.hex()
    rendition.blob_key, rendition.segment_size = sealed.blob_key, sealed.segment_size
    rendition.kek_id, rendition.wrapped_dek = sealed.wrapped_dek.kek_id, sealed.wrapped_dek.ciphertext


@dataclass(frozen=True)
class Reader:
    """Who reads a version's bytes, so that tampering found on the way is recorded as theirs."""

    sessions: sessionmaker[Session]
    clock: Clock
    found_by: str


def write_plaintext(
    source: RenditionSource, *, store: BlobStore, keys: KeyProvider, path: Path, reader: Reader
) -> Path:
    """The version's plaintext at `path`, in a private temp dir: ffmpeg needs a seekable input for
    MP4/MOV, LibreOffice and poppler a whole file. Bytes that fail their check raise CorruptBlob,
    recorded as a `storage.blob.tampered` incident: callers fail their job for good (`tampered`)."""
    ids = {"file_id": source.file_id, "version_id": source.version_id, "blob_key": source.blob_key}
    with (
        scrub.tampering_recorded(reader.sessions, found_by=reader.found_by, clock=reader.clock, ids=ids),
        path.open("wb") as out,
    ):
        for chunk in read_plaintext(
            store=store,
            keys=keys,
            blob_key=source.blob_key,
            wrapped_dek=source.wrapped_dek,
            aad_id=source.aad_id,
            plaintext_size=source.size,
        ):
            out.write(chunk)
    return path


def tampered(exc: CorruptBlob) -> str:
    """Why nothing was made from a version whose stored bytes failed their check (stored, shown)."""
    return (
        f"The stored bytes failed their integrity check ({exc.message}); an administrator must restore them."
    )


def _transcode(
    source: RenditionSource,
    *,
    store: BlobStore,
    keys: KeyProvider,
    work_dir: Path,
    segment_bytes: int,
    limits: PreviewSettings,
    reader: Reader,
) -> _Made | transcoding.Refused:
    """The sealed rendition, or why there is none."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        try:
            plain = write_plaintext(source, store=store, keys=keys, path=Path(tmp) / "source", reader=reader)
        except CorruptBlob as exc:
            return transcoding.Refused(tampered(exc))  # not retried: the same bytes would fail again
        made = _render(plain, source.content_type, Path(tmp), limits)
        if isinstance(made, transcoding.Refused):
            return made
        target, content_type = made
        sealed = seal_file(
            target, store=store, keys=keys, aad_id=source.rendition_id.encode(), segment_bytes=segment_bytes
        )
        return _Made(sealed=sealed, content_type=content_type)


def _render(
    plain: Path, stored_type: str | None, tmp: Path, limits: PreviewSettings
) -> tuple[Path, str] | transcoding.Refused:
    """The rendition file and its type: a document through LibreOffice, media through ffmpeg."""
    if office.is_document(stored_type):
        pdf = office.document_to_pdf(source=plain, content_type=stored_type, work=tmp / "lo", settings=limits)
        return pdf if isinstance(pdf, transcoding.Refused) else (pdf, "application/pdf")
    with plain.open("rb") as data:
        sniffed = media_types.sniff(data.read(media_types.HEAD_BYTES))
    family = media_types.media_family(sniffed)
    if sniffed is None or family is None:
        return transcoding.Refused(f"The file is {media_types.describe(sniffed)}, {NOT_PREVIEWABLE}.")
    suffix, content_type, arguments = RECIPES[family]
    target = tmp / f"preview{suffix}"
    refused = transcoding.run_ffmpeg(
        sniffed=sniffed, source=plain, target=target, output_arguments=arguments, settings=limits
    )
    return refused if refused is not None else (target, content_type)


def render_preview(
    sessions: sessionmaker[Session],
    *,
    version_id: str,
    store: BlobStore,
    keys: KeyProvider,
    work_dir: Path,
    segment_bytes: int,
    clock: Clock,
    limits: PreviewSettings | None = None,
) -> str:
    """Make the preview rendition of a version; idempotent, blocking (the worker runs it). ffmpeg runs
    between two short transactions, so no database lock is held while it works. Returns the outcome:
    ready, unsupported (with the reason stored), or skipped (gone, not yet scanned, already made)."""
    limits = limits or PreviewSettings()
    with transaction(sessions) as session:
        source = plan_rendition(session, version_id)
    if source is None:
        return "skipped"
    missing = office.soffice_missing() if office.is_document(source.content_type) else ffmpeg_missing()
    if missing:
        raise Unavailable(missing)
    outcome = _transcode(
        source,
        store=store,
        keys=keys,
        work_dir=work_dir,
        segment_bytes=segment_bytes,
        limits=limits,
        reader=Reader(sessions, clock, "previews"),
    )
    with transaction(sessions) as session:
        rendition = rendition_row(session, source, kind=PREVIEW, now=clock.now())
        if isinstance(outcome, transcoding.Refused):
            rendition.status, rendition.detail = "unsupported", outcome.reason[:500]
            return "unsupported"
        sealed = outcome.sealed
        rendition.status, rendition.detail = "ready", None
        rendition.content_type = outcome.content_type
        point_at_sealed(rendition, sealed)
        session.flush()
        file = session.get_one(File, source.file_id)
        events.record(
            session,
            Actor.system(label="previews"),
            AuditAction.RENDITION_CREATED,
            item=ref(file),
            details={
                "version_id": source.version_id,
                "rendition_id": rendition.id,
                "content_type": rendition.content_type,
            },
            at=clock.now(),
        )
    return "ready"


@dataclass(frozen=True)
class PreviewStatus:
    """Where a file's preview stands: ready, queued, unsupported (with why), or waiting_for_scan."""

    state: str
    reason: str | None = None


def preview_status(session: Session, version: FileVersion | None) -> PreviewStatus:
    """The preview state of a version, without changing anything (pages and the API show it)."""
    if version is None:
        return PreviewStatus("unsupported", "The file has no content yet.")
    existing = session.scalar(
        select(FileRendition).where(FileRendition.version_id == version.id, FileRendition.kind == PREVIEW)
    )
    if existing is not None and existing.status == "ready":
        return PreviewStatus("ready")
    if existing is not None:
        return PreviewStatus("unsupported", existing.detail or "The preview could not be made.")
    if family_of(version.content_type) is None:
        what = media_types.describe(version.content_type)
        return PreviewStatus("unsupported", f"The file is {what}, {NOT_PREVIEWABLE}.")
    if version.scan_status not in READABLE_SCAN_STATES:
        return PreviewStatus("waiting_for_scan")
    return PreviewStatus("queued")


def check_preview(session: Session, actor: Actor, *, file_id: str) -> PreviewStatus:
    """Where the current version's preview stands, changing nothing (for polling). Raises NotFound."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    return preview_status(session, version)


def request_preview(session: Session, actor: Actor, *, file_id: str, jobs: JobQueue) -> PreviewStatus:
    """Ask for the current version's preview to be made. A preview that could not be made is reported
    with its reason, not retried (the bytes have not changed)."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    status = preview_status(session, version)
    if status.state == "queued" and version is not None:
        enqueue_preview(session, jobs, version)
    return status


def open_preview(
    session: Session,
    actor: Actor,
    *,
    file_id: str,
    range_header: str | None,
    clock: Clock,
    via: str = "api",
    reason: str | None = None,
    reason_required_for: Collection[str] = (),
    playback: str | None = None,
) -> ContentToSend:
    """Authorise (PREVIEW) and record a read of the current version's preview rendition; Range supported.
    With a `playback` id the request is one piece of a play in a media player (content.playbacks).
    Raises NotFound (also while no preview is ready), RangeNotSatisfiable."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    reasons.require_reason(
        classification=effective_label(session, file), reason=reason, required_for=reason_required_for
    )
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    if version is None or version.scan_status not in READABLE_SCAN_STATES:
        raise NotFound("preview", file_id)
    rendition = session.scalar(
        select(FileRendition).where(
            FileRendition.version_id == version.id,
            FileRendition.kind == PREVIEW,
            FileRendition.status == "ready",
        )
    )
    if (
        rendition is None
        or rendition.blob_key is None
        or rendition.wrapped_dek is None
        or rendition.kek_id is None
    ):
        raise NotFound("preview", file_id)
    byte_range = parse_range(range_header, rendition.size)
    if playback is not None:
        start, end = (byte_range.start, byte_range.end) if byte_range else (0, max(rendition.size - 1, 0))
        play = playbacks.Play(
            playback, version.id, via, "preview", start, end, rendition.size, rendition_id=rendition.id
        )
        playbacks.record_play(session, actor, ref(file), play, reason=reason, at=clock.now())
    else:
        details: dict[str, object] = {"version_id": version.id, "rendition_id": rendition.id, "via": via}
        if byte_range is not None:
            details["range"] = [byte_range.start, byte_range.end]
        events.record(
            session,
            actor,
            AuditAction.PREVIEW_READ,
            item=ref(file),
            details=details,
            reason=reason,
            at=clock.now(),
        )
    suffix = {"audio/mp4": ".m4a", "video/mp4": ".mp4", "image/jpeg": ".jpg", "application/pdf": ".pdf"}.get(
        rendition.content_type or "", ""
    )
    return ContentToSend(
        file_id=file.id,
        file_name=f"{file.name} (preview){suffix}",
        version_id=version.id,
        size=rendition.size,
        sha256=rendition.sha256 or "",
        content_type=media_types.served_type(rendition.content_type),
        blob_key=rendition.blob_key,
        aad_id=rendition.id.encode(),
        wrapped_dek=WrappedKey(kek_id=rendition.kek_id, ciphertext=rendition.wrapped_dek),
        byte_range=byte_range,
    )


def rendition_blob_keys(session: Session) -> set[str]:
    """Blobs held by renditions: the garbage collector must keep them."""
    return {key for key in session.scalars(select(FileRendition.blob_key)) if key}
