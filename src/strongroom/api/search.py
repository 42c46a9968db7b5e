"""Search: GET /search?q=... for words, POST /search for structured queries (see search/query.py)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.search import engine

router = APIRouter(tags=["search"])


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: Annotated[str, Field(max_length=500)] = ""
    where: Annotated[
        str, Field(max_length=2000, examples=["case.urn = :urn AND exhibit.seized_at >= 2026-01-01"])
    ] = ""
    params: dict[str, str | float] = Field(default_factory=dict, max_length=50)
    kind: list[str] = Field(default_factory=list, max_length=2)
    classification: list[str] = Field(default_factory=list, max_length=10)
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    limit: Annotated[int, Field(ge=1, le=engine.MAX_LIMIT)] = 50
    cursor: Annotated[str | None, Field(max_length=500)] = None


class SearchHit(BaseModel):
    id: str
    kind: str
    name: str
    parent_id: str | None
    classification: str
    content_type: str | None
    size: int
    updated_at: datetime
    snippet: str | None


class SearchPage(BaseModel):
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    next_cursor: str | None


def run_search(actor: CurrentActor, runtime: RuntimeDep, body: SearchQuery) -> SearchPage:
    request = engine.SearchRequest(
        q=body.q,
        where=body.where,
        params=dict(body.params),
        kinds=body.kind,
        classifications=body.classification,
        updated_from=body.updated_from,
        updated_to=body.updated_to,
        limit=body.limit,
        cursor=body.cursor,
    )
    with transaction(runtime.sessions) as session:
        found = engine.search(session, actor, request)
    return SearchPage(
        total=found.total,
        hits=[SearchHit(**vars(hit)) for hit in found.hits],
        facets=found.facets,
        next_cursor=found.next_cursor,
    )


@router.get("/search", response_model=SearchPage)
def search_get(
    actor: CurrentActor,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=500, description="Words to find in names, metadata and text.")] = "",
    where: Annotated[
        str, Query(max_length=2000, description="A metadata query (POST takes parameters).")
    ] = "",
    kind: Annotated[list[str] | None, Query(max_length=2)] = None,
    classification: Annotated[list[str] | None, Query(max_length=10)] = None,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=engine.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> SearchPage:
    """Find the folders and files you may see whose name, metadata or text holds all the words;
    `total` and `facets` count only those. Page on with `cursor=next_cursor`."""
    body = SearchQuery(
        q=q,
        where=where,
        kind=kind or [],
        classification=classification or [],
        updated_from=updated_from,
        updated_to=updated_to,
        limit=limit,
        cursor=cursor,
    )
    return run_search(actor, runtime, body)


@router.post("/search", response_model=SearchPage)
def search_post(body: SearchQuery, actor: CurrentActor, runtime: RuntimeDep) -> SearchPage:
    """The same search with a structured query: `where` in the query language, values in `params`."""
    return run_search(actor, runtime, body)
