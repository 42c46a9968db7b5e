"""Documents shown in the browser's PDF viewer to someone who may preview but not necessarily download:
a shared link's recipient, a preview-only link included.

Word, Excel, PowerPoint and OpenDocument files are shown as the PDF rendition LibreOffice made
(`renditions.open_preview`). A PDF is already what the viewer reads, so it is shown from its original
bytes: read here under PREVIEW (not DOWNLOAD) and recorded as a preview, never as a download, because
the bytes go to the viewer inline and nothing offers them as a file.
"""

from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_file
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content import office, renditions
from strongroom.content.folders import ref
from strongroom.content.models import FileVersion
from strongroom.content.reads import READABLE_SCAN_STATES, ContentToSend, version_content
from strongroom.content.renditions import PreviewStatus
from strongroom.errors import NotFound

PDF = "application/pdf"


def is_pdf(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == PDF


def is_document(content_type: str | None) -> bool:
    """Shown in the PDF viewer: a PDF itself, or an office document through its PDF rendition."""
    return is_pdf(content_type) or office.is_document(content_type)


def document_status(session: Session, version: FileVersion | None) -> PreviewStatus:
    """Whether the viewer can show the version now. A PDF is ready once its scan allows reading it; an
    office document once its rendition is made (`renditions.preview_status`)."""
    if version is not None and is_pdf(version.content_type):
        ready = version.scan_status in READABLE_SCAN_STATES
        return PreviewStatus("ready" if ready else "waiting_for_scan")
    return renditions.preview_status(session, version)


def check_document(session: Session, actor: Actor, *, file_id: str) -> PreviewStatus:
    """Where the current version's document view stands, changing and recording nothing (for polling).
    Raises NotFound where the actor may not preview the file."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    return document_status(session, version)


def open_pdf_view(session: Session, actor: Actor, *, file_id: str, clock: Clock, via: str) -> ContentToSend:
    """Authorise (PREVIEW) and record, as one preview read, the original bytes of a PDF for the viewer.
    The whole file: the viewer fetches it once. Raises NotFound (also for anything but a readable PDF)."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    if version is None or not is_pdf(version.content_type) or version.scan_status not in READABLE_SCAN_STATES:
        raise NotFound("preview", file_id)
    details = {"version_id": version.id, "via": via, "source": "original", "sha256": version.sha256}
    events.record(session, actor, AuditAction.PREVIEW_READ, item=ref(file), details=details, at=clock.now())
    return version_content(file, version, byte_range=None)


def open_document(session: Session, actor: Actor, *, file_id: str, clock: Clock, via: str) -> ContentToSend:
    """What the viewer reads for a file: a PDF's own bytes, else the PDF rendition of an office document.
    Either way one recorded preview read, never a download. Raises NotFound (also while not ready)."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    if version is not None and is_pdf(version.content_type):
        return open_pdf_view(session, actor, file_id=file_id, clock=clock, via=via)
    if version is None or not office.is_document(version.content_type):
        raise NotFound("preview", file_id)
    return renditions.open_preview(session, actor, file_id=file_id, range_header=None, clock=clock, via=via)
