"""The search page: words and a metadata query, results you may see, and filters from the facets."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from strongroom.api.deps import RuntimeDep
from strongroom.db.session import transaction
from strongroom.errors import InputError
from strongroom.search import engine
from strongroom.web.pages import HtmlRoute, signed_in
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
FACET_TITLES = {
    "kind": "Type",
    "classification": "Classification",
    "type": "Kind of file",
    "month": "Last changed",
}


@router.get("/search")
def search_page(
    request: Request,
    runtime: RuntimeDep,
    *,
    q: Annotated[str, Query(max_length=500)] = "",
    where: Annotated[str, Query(max_length=2000)] = "",
    kind: Annotated[list[str] | None, Query(max_length=2)] = None,
    classification: Annotated[list[str] | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    _, actor = signed_in(request)
    chosen = {"kind": kind or [], "classification": classification or []}
    found = None
    problem = None
    if q.strip() or where.strip():
        search = engine.SearchRequest(
            q=q, where=where, kinds=chosen["kind"], classifications=chosen["classification"], cursor=cursor
        )
        try:
            with transaction(runtime.sessions) as session:
                found = engine.search(session, actor, search)
        except InputError as exc:  # a query that cannot be read is shown beside the form, not as a page
            problem = str(exc)

    def link(**change: list[str]) -> str:
        params = {"q": q, "where": where, **chosen, **change}
        return "/search?" + urlencode({k: v for k, v in params.items() if v}, doseq=True)

    facets = []
    if found is not None:
        for key, counts in found.facets.items():
            options = []
            for value, count in counts.items():
                selected = value in chosen.get(key, [])
                toggled = (
                    [v for v in chosen.get(key, []) if v != value]
                    if selected
                    else [*chosen.get(key, []), value]
                )
                options.append(
                    {
                        "value": value,
                        "count": count,
                        "selected": selected,
                        "url": link(**{key: toggled}) if key in chosen else None,
                    }
                )
            facets.append({"title": FACET_TITLES.get(key, key), "options": options})
    return render(
        request,
        "staff/search.html",
        nav="search",
        q=q,
        where=where,
        found=found,
        problem=problem,
        facets=facets,
        next_url=link() + "&" + urlencode({"cursor": found.next_cursor})
        if found and found.next_cursor
        else None,
    )
