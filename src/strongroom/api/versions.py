"""File versions: list, download one, restore one."""

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from starlette.responses import StreamingResponse

from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.api.files import _download
from strongroom.content import versions as content_versions
from strongroom.content.models import File
from strongroom.content.schemas import VersionRead
from strongroom.db.session import transaction

router = APIRouter(tags=["versions"])


@router.get("/files/{file_id}/versions", response_model=list[VersionRead])
def list_versions(file_id: str, actor: CurrentActor, runtime: RuntimeDep) -> list[VersionRead]:
    """Every version of a file, newest first, each with its size and SHA-256."""
    with transaction(runtime.sessions) as session:
        versions = content_versions.list_versions(session, actor, file_id=file_id)
        file = session.get(File, file_id)
        current = file.current_version_id if file else None
        return [VersionRead.of(v, current_id=current) for v in versions]


@router.get(
    "/files/{file_id}/versions/{version_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "Partial content"},
        416: {"description": "Range not satisfiable"},
    },
)
def download_version(
    file_id: str,
    version_id: str,
    request: Request,
    runtime: RuntimeDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    reason: Reason = None,
) -> Response:
    """The bytes of one version (Range and If-Range supported; classified material may need
    `X-Strongroom-Reason`)."""
    return _download(runtime, request, file_id, version_id, range_header, None, reason, if_range=if_range)


@router.post("/files/{file_id}/versions/{version_id}/restore", status_code=201, response_model=VersionRead)
def restore_version(file_id: str, version_id: str, actor: CurrentActor, runtime: RuntimeDep) -> VersionRead:
    """Make an earlier version current again (as a new version; history is kept)."""
    with transaction(runtime.sessions) as session:
        restored = content_versions.restore_version(
            session, actor, file_id=file_id, version_id=version_id, clock=runtime.clock
        )
        return VersionRead.of(restored, current_id=restored.id)
