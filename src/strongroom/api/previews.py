"""Previews: the browser-friendly rendition of a file (never its original bytes), and asking for one."""

from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import StreamingResponse

from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.api.streaming import Playback, stream_content
from strongroom.content import playbacks, renditions, thumbnails
from strongroom.content.models import File, FileVersion
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.skills import virus_scan

router = APIRouter(tags=["previews"])


class ScanRead(BaseModel):
    status: str = Field(description="pending, clean, infected, unavailable, too_large or not_required")
    label: str = Field(description="The state in words, as the web UI shows it")
    detail: str | None = Field(default=None, description="Why it waits, or what was found")


class PreviewState(BaseModel):
    state: str = Field(description="ready, queued, unsupported (see `reason`) or waiting_for_scan")
    reason: str | None = Field(default=None, description="Why there is no preview")
    scan: ScanRead | None = None


@router.get(
    "/files/{file_id}/preview",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"video/mp4": {}, "audio/mp4": {}, "image/jpeg": {}}},
        206: {"description": "Partial content"},
    },
)
def get_preview(
    file_id: str,
    actor: CurrentActor,
    runtime: RuntimeDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    reason: Reason = None,
    playback: Playback = None,
) -> Response:
    """The preview rendition (Range supported, so players can seek). Needs PREVIEW, not DOWNLOAD.
    Classified material may need `X-Strongroom-Reason` (else 428)."""
    with transaction(runtime.sessions) as session:
        content = renditions.open_preview(
            session,
            actor,
            file_id=file_id,
            range_header=range_header,
            clock=runtime.clock,
            reason=reason,
            reason_required_for=runtime.settings.audit.reason_required_for,
            playback=playbacks.parse_playback_id(playback),
        )
    return stream_content(runtime, content, inline=True)


@router.get(
    "/files/{file_id}/thumbnail",
    response_class=StreamingResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_thumbnail(file_id: str, actor: CurrentActor, runtime: RuntimeDep) -> Response:
    """A small JPEG of the file (an image, a video frame, a PDF's first page) for folder lists, once
    the worker made it (404 before, and for classified material that needs a reason). Needs PREVIEW;
    each showing is recorded."""
    with transaction(runtime.sessions) as session:
        content = thumbnails.open_thumbnail(
            session,
            actor,
            file_id=file_id,
            clock=runtime.clock,
            reason_required_for=runtime.settings.audit.reason_required_for,
        )
    return stream_content(runtime, content, inline=True)


def _with_scan(
    runtime: Runtime, session: Session, file_id: str, status: renditions.PreviewStatus
) -> PreviewState:
    file = session.get_one(File, file_id)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    scan = None
    if version is not None:
        state = virus_scan.scan_state(
            version, runtime.settings.scan if status.state == "waiting_for_scan" else None
        )
        scan = ScanRead(status=state.status, label=state.label, detail=state.detail)
    return PreviewState(state=status.state, reason=status.reason, scan=scan)


@router.post("/files/{file_id}/preview", status_code=202, response_model=PreviewState)
def request_preview(file_id: str, actor: CurrentActor, runtime: RuntimeDep) -> PreviewState:
    """Ask for the preview to be made. `unsupported` carries the reason (the bytes are not media, or
    ffmpeg refused them); `waiting_for_scan` carries the virus-scan state."""
    with transaction(runtime.sessions) as session:
        status = renditions.request_preview(session, actor, file_id=file_id, jobs=runtime.jobs)
        return _with_scan(runtime, session, file_id, status)


@router.get("/files/{file_id}/preview/state", response_model=PreviewState)
def preview_state(file_id: str, actor: CurrentActor, runtime: RuntimeDep) -> PreviewState:
    """Where the preview stands, without asking for it (poll this after one POST)."""
    with transaction(runtime.sessions) as session:
        status = renditions.check_preview(session, actor, file_id=file_id)
        return _with_scan(runtime, session, file_id, status)
