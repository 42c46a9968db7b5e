"""REST door under /api/v1: router assembly and OpenAPI metadata.

The route modules are imported at the first request under their paths (strongroom.lazy_routes):
a server that answers only WebDAV, shared links or health checks never loads most of them.
"""

from typing import Final

from fastapi import FastAPI

from strongroom.api import openapi_doc
from strongroom.lazy_routes import LazyRoutes

PREFIX: Final = "/api/v1"

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"description": "Bad input: {code, message}"},
    401: {"description": "Not signed in"},
    404: {"description": "No such item, or not visible to you"},
}

# The route modules in the order their routes are tried, each with the first path segments (after
# /api/v1/) of its routes. tests/api/test_lazy_routes.py checks these against the routes.
ROUTE_MODULES: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("folders", frozenset({"folders"})),
    ("files", frozenset({"files", "folders"})),
    ("versions", frozenset({"files"})),
    ("trash", frozenset({"disposals", "trash"})),
    ("me", frozenset({"me"})),
    ("audit", frozenset({"audit", "items", "users"})),
    ("custody", frozenset({"files"})),
    ("tus", frozenset({"uploads"})),
    ("collaborations", frozenset({"collaborations", "items", "shared-with-me"})),
    ("groups", frozenset({"groups"})),
    ("previews", frozenset({"files"})),
    ("shared_links", frozenset({"items", "shared-links"})),
    ("upload_requests", frozenset({"folders", "upload-requests"})),
    ("classification", frozenset({"items"})),
    ("accounts", frozenset({"me", "users"})),
    ("zips", frozenset({"folders", "zips"})),
    ("problem_types", frozenset({"problems"})),
    ("skills", frozenset({"files"})),
    ("search", frozenset({"search"})),
    ("metadata", frozenset({"items", "metadata-templates"})),
)


def route_groups() -> list[LazyRoutes]:
    """One lazy group per route module, so a request loads only the modules under its path."""
    return [LazyRoutes(__name__, (name,), PREFIX, segments) for name, segments in ROUTE_MODULES]


def include(app: FastAPI, groups: list[LazyRoutes]) -> None:
    """/api/v1: each group's (still empty) router at its place in the route order, included straight
    into the app so a request walks no deeper than it did through one /api/v1 router."""
    for group in groups:
        app.include_router(
            group.router,
            prefix=PREFIX,
            responses=ERROR_RESPONSES,
            generate_unique_id_function=openapi_doc.operation_id,
        )
