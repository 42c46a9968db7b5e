"""The metadata page of a folder or file: each template's values, and a form to set them (plain form
posts, so it works without script). The service validates; a refused value comes back as the error page
with its reason and code."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item
from strongroom.api.deps import RuntimeDep
from strongroom.db.session import transaction
from strongroom.search import templates
from strongroom.web import csrf
from strongroom.web.pages import HtmlRoute, signed_in
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


@router.get("/items/{item_id}/metadata")
def metadata_page(request: Request, item_id: str, runtime: RuntimeDep) -> Response:
    _, actor = signed_in(request)
    with transaction(runtime.sessions) as session:
        item = access_item(session, actor, item_id, Action.SEE)
        values = templates.item_metadata(session, actor, item_id)
        forms = [
            {"key": t.key, "name": t.name, "fields": json.loads(t.fields), "values": values.get(t.key, {})}
            for t in templates.list_templates(session)
        ]
        return render(
            request,
            "staff/metadata.html",
            nav="files",
            item=item,
            forms=forms,
            back=f"/files/{item.id}" if item.is_folder else f"/items/{item.id}",
        )


def _typed(field: dict[str, Any], form: Any) -> object:
    key = f"f_{field['key']}"
    if field["type"] == "multi":
        return form.getlist(key)
    raw = str(form.get(key) or "").strip()
    if field["type"] == "number" and raw:
        try:
            return float(raw) if "." in raw else int(raw)
        except ValueError:
            return raw  # the service refuses it with the field's name
    return raw or None


@router.post("/items/{item_id}/metadata/{template_key}")
async def set_metadata(request: Request, item_id: str, template_key: str, runtime: RuntimeDep) -> Response:
    _, actor = signed_in(request)
    form = await request.form()
    csrf.require_form_token(request, str(form.get("csrf_token") or ""))

    def change() -> str:
        with transaction(runtime.sessions) as session:
            template = templates.get_template(session, template_key)
            values = {field["key"]: _typed(field, form) for field in json.loads(template.fields)}
            templates.set_metadata(
                session,
                actor,
                item_id=item_id,
                template_key=template_key,
                values=values,
                cascade=form.get("cascade") == "yes",
                clock=runtime.clock,
            )
        return f"/items/{item_id}/metadata"

    return RedirectResponse(await run_in_threadpool(change), status_code=303)
