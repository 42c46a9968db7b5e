"""Classification in the file browser: the form that sets an item's label (with a reason), and the
reason a reader states before classified content is shown or downloaded.

Which labels a person is offered follows the service's rules (`governance.classification`): never below
the folder's label, and lower than the current one only for co-owners and owners. The service decides
again when the form is posted, so a hand-made post cannot do more than the form offers.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from strongroom.access import labels
from strongroom.access.loaders import ancestry
from strongroom.actors import Actor
from strongroom.api.deps import RuntimeDep
from strongroom.audit.reasons import MAX_REASON_CHARS, clean_reason
from strongroom.content.models import Item
from strongroom.db.session import transaction
from strongroom.governance import classification
from strongroom.web import csrf
from strongroom.web.pages import HtmlRoute, signed_in

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def classification_context(
    session: Session, actor: Actor, item: Item, *, reason_required_for: list[str], reason: str | None
) -> dict[str, Any]:
    """What the item and folder pages need: the label that governs the item, the labels this person may
    choose, and whether reading asks for a reason (and the query that carries one to the content URLs)."""
    chain = ancestry(session, item)
    effective = labels.effective_label(chain)
    floor = labels.effective_label(chain[:-1]) if len(chain) > 1 else labels.Label.OFFICIAL.value
    may = classification.may_classify(session, actor, item)
    lowest = floor if may["lower"] else labels.highest([floor, item.classification])
    choices = (
        [label for label in labels.ORDER if labels.rank(label) >= labels.rank(lowest)] if may["raise"] else []
    )
    needs_reason = effective in reason_required_for
    return {
        "effective_label": effective,
        "label_floor": floor,
        "label_choices": choices if len(choices) > 1 else [],
        "needs_reason": needs_reason,
        "reason": reason,
        "reason_query": f"reason={quote(reason, safe='')}" if needs_reason and reason else "",
        "max_reason_chars": MAX_REASON_CHARS,
    }


@router.post("/items/{item_id}/classification")
async def set_classification(
    request: Request,
    item_id: str,
    runtime: RuntimeDep,
    *,
    classification_: Annotated[str, Form(alias="classification", max_length=64)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Change the item's label (a plain form post, so it works without script)."""
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)
    label = classification.parse_label(classification_)

    def change() -> str:
        with transaction(runtime.sessions) as session:
            item = classification.classify(
                session, actor, item_id=item_id, label=label, reason=clean_reason(reason), clock=runtime.clock
            )
            return f"/files/{item.id}" if item.is_folder else f"/items/{item.id}"

    return RedirectResponse(await run_in_threadpool(change), status_code=303)
