"""The /api/v1 route modules load at the first request under their paths (issue 14); nothing a
client sees changes: every route answers from the first request, and the OpenAPI document lists
every route even when it is the first request."""

from __future__ import annotations

import importlib
import re

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from strongroom import api
from strongroom.lazy_routes import first_segment
from tests.support.users import UserFixture


def module_routes(name: str) -> list[APIRoute]:
    module = importlib.import_module(f"strongroom.api.{name}")
    return [route for route in module.router.routes if isinstance(route, APIRoute)]


def test_each_module_declares_exactly_the_first_segments_of_its_routes() -> None:
    # A segment left out would answer 404 until another request loaded the module.
    for name, segments in api.ROUTE_MODULES:
        found = {first_segment(api.PREFIX + route.path, api.PREFIX) for route in module_routes(name)}
        assert found == segments, name


def test_the_first_request_may_be_the_openapi_document_and_it_lists_every_route(
    client: TestClient,
) -> None:
    document = client.get("/api/v1/openapi.json").json()
    listed = {
        (path, method.upper()) for path, operations in document["paths"].items() for method in operations
    }
    declared = {
        (api.PREFIX + re.sub(r":\w+}", "}", route.path), method)  # {name:path} is {name} there
        for name, _ in api.ROUTE_MODULES
        for route in module_routes(name)
        if route.include_in_schema
        for method in route.methods
    }
    assert declared == listed


def test_a_deep_path_of_a_lazy_module_answers_at_the_first_request(
    client: TestClient, alice: UserFixture
) -> None:
    auth = {"Authorization": f"Bearer {alice.token}"}
    assert client.get("/api/v1/search", params={"q": "nothing"}, headers=auth).status_code == 200
    root = client.get("/api/v1/folders/root/items", headers=auth)
    assert root.status_code == 200, root.text
    missing = client.get("/api/v1/no-such-door", headers=auth)
    assert missing.status_code == 404
