"""Thumbnails for folder lists: a small JPEG of an image, a frame of a video, the first page of a PDF.

Made by the worker like previews (renditions.py), from the plaintext in a private temp dir, by the
same locked-down tools: ffmpeg for images and video (forced demuxer, `file` protocol only), poppler's
pdftoppm for PDFs, each under the preview limits and a short timeout. A thumbnail is a rendition of
kind "thumbnail", sealed with its own key. Showing one is recorded (`content.thumbnail.shown`): a
picture of evidence is still a look at it, even a small one.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterable
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
from strongroom.content import media_types, renditions, transcoding
from strongroom.content.folders import ref
from strongroom.content.models import File, FileRendition, FileVersion
from strongroom.content.reads import READABLE_SCAN_STATES, ContentToSend
from strongroom.db.session import transaction
from strongroom.errors import NotFound
from strongroom.jobs.queue import JobQueue
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_stream import CorruptBlob

KIND = "thumbnail"
JOB_KIND = "content.render_thumbnail"
SIDE = 320  # pixels: sharp at 40-80 CSS px on a high-density screen, a few kB
TIMEOUT_SECONDS = 60.0
_SCALE = f"scale={SIDE}:{SIDE}:force_original_aspect_ratio=decrease"
OUTPUT_ARGUMENTS = {
    "image": ["-frames:v", "1", "-vf", _SCALE, "-q:v", "5"],
    # `thumbnail` picks a representative frame of the first 50, not a black first frame.
    "video": ["-an", "-vf", f"thumbnail=50,{_SCALE}", "-frames:v", "1", "-q:v", "5"],
}


def source_kind(content_type: str | None) -> str | None:
    """`image`, `video` or `pdf` when a thumbnail can be made of this stored type, else None."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/pdf":
        return "pdf"
    family = media_types.media_family(kind)
    return family if family in OUTPUT_ARGUMENTS else None


def enqueue_thumbnail(session: Session, jobs: JobQueue, version: FileVersion) -> bool:
    if source_kind(version.content_type) is None or version.scan_status not in READABLE_SCAN_STATES:
        return False
    jobs.enqueue(session, JOB_KIND, {"version_id": version.id})
    return True


def _pdf_first_page(source: Path, tmp: Path, limits: PreviewSettings) -> Path | transcoding.Refused:
    if shutil.which("pdftoppm") is None:
        return transcoding.Refused("poppler-utils (pdftoppm) is not installed")
    target = tmp / "thumbnail"
    command = ["pdftoppm", "-f", "1", "-l", "1", "-scale-to", str(SIDE), "-jpeg", "-singlefile"]
    try:
        done = subprocess.run(
            [*command, str(source), str(target)],
            capture_output=True,
            timeout=min(limits.timeout_seconds, TIMEOUT_SECONDS),
            check=False,
            preexec_fn=transcoding.limits(limits),  # only setrlimit runs there
            start_new_session=True,
            close_fds=True,
            stdin=subprocess.DEVNULL,
            cwd=tmp,
        )
    except subprocess.TimeoutExpired:
        return transcoding.Refused("The first page took too long to draw.")
    made = target.with_suffix(".jpg")
    if done.returncode != 0 or not made.is_file():
        return transcoding.Refused(
            f"The PDF could not be drawn: {done.stderr.decode(errors='replace')[-300:]}"
        )
    return made


def _draw(
    plain: Path, content_type: str | None, tmp: Path, limits: PreviewSettings
) -> Path | transcoding.Refused:
    with plain.open("rb") as data:
        sniffed = media_types.sniff(data.read(media_types.HEAD_BYTES))
    kind = source_kind(sniffed)  # the bytes decide, whatever type was stored
    if sniffed is None or kind is None or kind != source_kind(content_type):
        return transcoding.Refused(f"The file is {media_types.describe(sniffed)}: no thumbnail.")
    if kind == "pdf":
        return _pdf_first_page(plain, tmp, limits)
    target = tmp / "thumbnail.jpg"
    short = limits.model_copy(update={"timeout_seconds": min(limits.timeout_seconds, TIMEOUT_SECONDS)})
    refused = transcoding.run_ffmpeg(
        sniffed=sniffed, source=plain, target=target, output_arguments=OUTPUT_ARGUMENTS[kind], settings=short
    )
    return refused if refused is not None else target


def render_thumbnail(
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
    """Make a version's thumbnail; idempotent, blocking (the worker runs it). Returns ready,
    unsupported (reason stored) or skipped, like render_preview."""
    limits = limits or PreviewSettings()
    with transaction(sessions) as session:
        source = renditions.plan_rendition(session, version_id, kind=KIND)
    if source is None:
        return "skipped"
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        reader = renditions.Reader(sessions, clock, "thumbnails")
        try:
            plain = renditions.write_plaintext(
                source, store=store, keys=keys, path=Path(tmp) / "source", reader=reader
            )
            drawn = _draw(plain, source.content_type, Path(tmp), limits)
        except CorruptBlob as exc:
            drawn = transcoding.Refused(renditions.tampered(exc))  # not retried: the bytes would fail again
        sealed = None
        if not isinstance(drawn, transcoding.Refused):
            aad = source.rendition_id.encode()
            sealed = renditions.seal_file(
                drawn, store=store, keys=keys, aad_id=aad, segment_bytes=segment_bytes
            )
    with transaction(sessions) as session:
        rendition = renditions.rendition_row(session, source, kind=KIND, now=clock.now())
        if sealed is None:
            reason = drawn.reason if isinstance(drawn, transcoding.Refused) else "no thumbnail"
            rendition.status, rendition.detail = "unsupported", reason[:500]
            return "unsupported"
        rendition.status, rendition.detail, rendition.content_type = "ready", None, "image/jpeg"
        renditions.point_at_sealed(rendition, sealed)
        session.flush()
        events.record(
            session,
            Actor.system(label="thumbnails"),
            AuditAction.RENDITION_CREATED,
            item=ref(session.get_one(File, source.file_id)),
            details={"version_id": source.version_id, "rendition_id": rendition.id, "kind": KIND},
            at=clock.now(),
        )
    return "ready"


def with_thumbnails(session: Session, current_versions: Iterable[str | None]) -> set[str]:
    """The ids of the files whose current version (one of `current_versions`) has a ready thumbnail
    (one query, for a list)."""
    versions = {v for v in current_versions if v}
    if not versions:
        return set()
    query = (
        select(FileVersion.file_id)
        .join(FileRendition, FileRendition.version_id == FileVersion.id)
        .where(FileVersion.id.in_(versions), FileRendition.kind == KIND, FileRendition.status == "ready")
    )
    return set(session.scalars(query))


def open_thumbnail(
    session: Session,
    actor: Actor,
    *,
    file_id: str,
    clock: Clock,
    reason_required_for: Collection[str] = (),
) -> ContentToSend:
    """Authorise (PREVIEW) and record the showing of the current version's thumbnail. Classified material
    that needs a reason shows none in a list (NotFound), as does a file without a ready thumbnail."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    reasons.require_reason(
        classification=effective_label(session, file), reason=None, required_for=reason_required_for
    )
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    rendition = None
    if version is not None and version.scan_status in READABLE_SCAN_STATES:
        rendition = session.scalar(
            select(FileRendition).where(
                FileRendition.version_id == version.id,
                FileRendition.kind == KIND,
                FileRendition.status == "ready",
            )
        )
    if (
        version is None
        or rendition is None
        or not (rendition.blob_key and rendition.wrapped_dek and rendition.kek_id)
    ):
        raise NotFound("thumbnail", file_id)
    details = {"version_id": version.id, "rendition_id": rendition.id}
    events.record(
        session, actor, AuditAction.THUMBNAIL_SHOWN, item=ref(file), details=details, at=clock.now()
    )
    return ContentToSend(
        file_id=file.id,
        file_name=f"{file.name} (thumbnail).jpg",
        version_id=version.id,
        size=rendition.size,
        sha256=rendition.sha256 or "",
        content_type="image/jpeg",
        blob_key=rendition.blob_key,
        aad_id=rendition.id.encode(),
        wrapped_dek=WrappedKey(kek_id=rendition.kek_id, ciphertext=rendition.wrapped_dek),
        byte_range=None,
    )
