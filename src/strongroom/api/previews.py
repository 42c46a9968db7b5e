"""Previews: the browser-friendly rendition of a file (never its original bytes), and asking for one."""

from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel
from starlette.responses import StreamingResponse

from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.api.streaming import stream_content
from strongroom.content import renditions
from strongroom.content.models import FileVersion
from strongroom.db.session import transaction
from strongroom.skills import virus_scan

router = APIRouter(tags=["previews"])


class PreviewState(BaseModel):
    state: str
    scan: str | None = None


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
        )
    return stream_content(runtime, content, inline=True)


@router.post("/files/{file_id}/preview", status_code=202, response_model=PreviewState)
def request_preview(file_id: str, actor: CurrentActor, runtime: RuntimeDep) -> PreviewState:
    """Ask for the preview to be made: `queued`, `ready`, `unsupported`, or `waiting_for_scan` (with why)."""
    with transaction(runtime.sessions) as session:
        state = renditions.request_preview(session, actor, file_id=file_id, jobs=runtime.jobs)
        scan = None
        if state == "waiting_for_scan":
            from strongroom.content.models import File

            file = session.get_one(File, file_id)
            version = session.get_one(FileVersion, file.current_version_id)
            scan = virus_scan.scan_state(runtime.settings.scan, version.scan_status)
        return PreviewState(state=state, scan=scan)
