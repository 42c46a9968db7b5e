"""Upload requests, owner side: open one on a folder, list, revoke, see its submissions."""

import json
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.sharing import upload_requests
from strongroom.sharing.schemas import UploadRequestCreate, UploadRequestRead

router = APIRouter(tags=["upload requests"])


class SubmissionRead(BaseModel):
    id: str
    reference: str
    folder_id: str | None
    form: dict[str, str]
    bytes_received: int
    created_at: datetime
    completed_at: datetime | None


@router.post("/folders/{folder_id}/upload-requests", status_code=201, response_model=UploadRequestRead)
def create_upload_request(
    folder_id: str, body: UploadRequestCreate, actor: CurrentActor, runtime: RuntimeDep
) -> UploadRequestRead:
    """Open an upload link on a folder; the response carries its `url` once."""
    with transaction(runtime.sessions) as session:
        request, token = upload_requests.create_upload_request(
            session, actor, folder_id=folder_id, options=body, clock=runtime.clock
        )
        return UploadRequestRead.of(request, url=f"{runtime.settings.public_url}/r/{token}")


@router.get("/folders/{folder_id}/upload-requests", response_model=list[UploadRequestRead])
def list_upload_requests(folder_id: str, actor: CurrentActor, runtime: RuntimeDep) -> list[UploadRequestRead]:
    with transaction(runtime.sessions) as session:
        return [
            UploadRequestRead.of(r)
            for r in upload_requests.list_upload_requests(session, actor, folder_id=folder_id)
        ]


@router.post("/upload-requests/{request_id}/revoke", response_model=UploadRequestRead)
def revoke_upload_request(request_id: str, actor: CurrentActor, runtime: RuntimeDep) -> UploadRequestRead:
    with transaction(runtime.sessions) as session:
        return UploadRequestRead.of(
            upload_requests.revoke_upload_request(session, actor, request_id=request_id, clock=runtime.clock)
        )


@router.get("/upload-requests/{request_id}/submissions", response_model=list[SubmissionRead])
def list_submissions(request_id: str, actor: CurrentActor, runtime: RuntimeDep) -> list[SubmissionRead]:
    with transaction(runtime.sessions) as session:
        return [
            SubmissionRead(
                id=s.id,
                reference=s.reference,
                folder_id=s.folder_id,
                form=json.loads(s.form),
                bytes_received=s.bytes_received,
                created_at=s.created_at,
                completed_at=s.completed_at,
            )
            for s in upload_requests.list_submissions(session, actor, request_id=request_id)
        ]
