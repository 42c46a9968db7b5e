"""Trash: list, restore, purge."""

import functools

from fastapi import APIRouter, Response

from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.content import trash as content_trash
from strongroom.content.maintenance import delete_blobs
from strongroom.content.schemas import ItemRead
from strongroom.db.session import on_commit, transaction

router = APIRouter(tags=["trash"])


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
def purge_item(item_id: str, actor: CurrentActor, runtime: RuntimeDep) -> Response:
    """Delete a trashed item for good. Its audit history stays."""
    with transaction(runtime.sessions) as session:
        freed = content_trash.purge_item(session, actor, item_id=item_id, clock=runtime.clock)
        on_commit(session, functools.partial(delete_blobs, runtime.blobs, freed))
    return Response(status_code=204)
