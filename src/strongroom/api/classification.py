"""Classification of items: set or change an item's label, with a stated reason."""

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, IfMatch, RuntimeDep
from strongroom.audit.reasons import MAX_REASON_CHARS, clean_reason
from strongroom.content.schemas import ItemRead
from strongroom.db.session import transaction
from strongroom.governance import classification

router = APIRouter(tags=["classification"])


class ClassificationChange(BaseModel):
    classification: Annotated[str, Field(max_length=64, examples=["OFFICIAL-SENSITIVE"])]
    reason: Annotated[str | None, Field(max_length=MAX_REASON_CHARS)] = None


@router.put("/items/{item_id}/classification", response_model=ItemRead)
def set_classification(
    item_id: str,
    body: ClassificationChange,
    actor: CurrentActor,
    runtime: RuntimeDep,
    response: Response,
    reason: Reason = None,
    if_match: IfMatch = None,
) -> ItemRead:
    """Set the item's classification: `OFFICIAL`, `OFFICIAL-SENSITIVE` or `SECRET`. A reason is required
    (`reason` in the body or the `X-Strongroom-Reason` header; else 428 `reason_required`). Raising needs
    editor, co-owner or owner; lowering needs co-owner or owner (else 403 `not_allowed`), and no item may
    be set below its folder's label. What each label allows is enforced on every door at once."""
    label = classification.parse_label(body.classification)
    stated = clean_reason(body.reason) or reason
    with transaction(runtime.sessions) as session:
        item = classification.classify(
            session,
            actor,
            item_id=item_id,
            label=label,
            reason=stated,
            clock=runtime.clock,
            expected_etag=if_match,
        )
        response.headers["ETag"] = item.etag
        return ItemRead.of(item)
