"""Trash: list, restore, purge."""

import functools
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.audit.reasons import clean_reason
from strongroom.content import disposals
from strongroom.content import trash as content_trash
from strongroom.content.maintenance import delete_blobs
from strongroom.content.models import Disposal
from strongroom.content.schemas import ItemRead
from strongroom.db.session import on_commit, transaction
from strongroom.errors import NotFound

router = APIRouter(tags=["trash"])


class DisposalRead(BaseModel):
    id: str
    item_id: str
    version_id: str
    sha256: str
    audit_seq: int | None
    certificate: dict[str, Any]

    @classmethod
    def of(cls, disposal: Disposal) -> "DisposalRead":
        return cls(
            id=disposal.id,
            item_id=disposal.item_id,
            version_id=disposal.version_id,
            sha256=disposal.sha256,
            audit_seq=disposal.audit_seq,
            certificate=json.loads(disposal.certificate or "{}"),
        )


@router.get("/trash", response_model=list[ItemRead])
def list_trash(actor: CurrentActor, runtime: RuntimeDep) -> list[ItemRead]:
    """What you deleted and can still restore, newest first."""
    with transaction(runtime.sessions) as session:
        return [ItemRead.of(item) for item in content_trash.list_trash(session, actor)]


@router.post("/trash/{item_id}/restore", response_model=ItemRead)
def restore_item(item_id: str, actor: CurrentActor, runtime: RuntimeDep) -> ItemRead:
    """Put a trashed item back where it was (renamed if its name was taken meanwhile)."""
    with transaction(runtime.sessions) as session:
        return ItemRead.of(content_trash.restore_item(session, actor, item_id=item_id, clock=runtime.clock))


@router.delete("/trash/{item_id}", status_code=204)
def purge_item(
    item_id: str,
    actor: CurrentActor,
    runtime: RuntimeDep,
    reason: Annotated[str | None, Query(description="Why (written on the disposal certificates).")] = None,
) -> Response:
    """Delete a trashed item for good: its versions' data keys are destroyed and their blobs removed;
    their SHA-256 and the audit history stay, and each version gets a signed disposal certificate."""
    with transaction(runtime.sessions) as session:
        freed = content_trash.purge_item(
            session,
            actor,
            item_id=item_id,
            clock=runtime.clock,
            reason=clean_reason(reason, percent_encoded=False),
        )
        on_commit(session, functools.partial(delete_blobs, runtime.blobs, freed))
    runtime.issue_disposal_certificates()
    return Response(status_code=204)


@router.get("/disposals", response_model=list[DisposalRead])
def list_disposals(
    actor: CurrentActor, runtime: RuntimeDep, item_id: str | None = None
) -> list[DisposalRead]:
    """Administrators: the signed disposal certificates (verify one with `strongroom audit verify`)."""
    if not actor.is_admin:
        raise NotFound("disposal")
    with transaction(runtime.sessions) as session:
        return [DisposalRead.of(d) for d in disposals.certificates(session, item_id=item_id)]
