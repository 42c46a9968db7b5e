"""The OpenAPI document of /api/v1: readable operation ids, the bearer scheme, every error status.

FastAPI documents what the route functions declare; this adds what is true of every operation
(errors are RFC 9457 problems, a bearer token signs in) and what only certain kinds of operation can
answer (a write can conflict or find the disk full; a content read can need a reason or be out of
range), and drops FastAPI's 422 (validation errors are answered 400 bad_input, api/errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from strongroom import problems

BEARER: Final = "bearer"
PUBLIC_PREFIXES: Final = ("/api/v1/problems/",)
ERROR_TITLES: Final = {
    400: "Bad input (bad_input, name_invalid, digest_mismatch, unsafe_text)",
    401: "Not signed in, or the token is wrong, expired or revoked (unauthenticated)",
    403: "Visible to you but not allowed (not_allowed, csrf_failed)",
    404: "No such item, or not visible to you (not_found)",
    409: "Conflicts with the current state (conflict, name_taken, item_locked, idempotency_key_reused)",
    410: "Expired, revoked or used up (gone)",
    412: "A precondition failed (version_changed, item_exists)",
    413: "Over a configured size limit (too_large)",
    416: "The range is outside the file (range_not_satisfiable)",
    428: "The item's classification asks for a reason (reason_required)",
    429: "Too many requests or open uploads; see Retry-After (rate_limited, open_uploads_limit, ...)",
    460: "tus: the chunk did not match its Upload-Checksum and was discarded (checksum_mismatch)",
    503: "Database, blob store or key provider unavailable; nothing was lost; see Retry-After",
    507: "No room to store this (storage_full, database_full); nothing was recorded",
}
_EVERY: Final = (400, 401, 403, 404, 429, 503)
_WRITE: Final = (409, 412, 507)
_READ_CONTENT: Final = (416, 428)
_TUS: Final = (410, 413, 460)

# Route functions whose names say too little on their own (tus) or serve two paths (folders, files).
_TUS_IDS: Final = {
    "create": "create_upload",
    "head": "get_upload_offset",
    "patch": "append_to_upload",
    "delete": "terminate_upload",
}
_SINGULAR: Final = {"folders": "folder", "files": "file"}


def operation_id(route: APIRoute) -> str:
    """A readable, unique operation id: the route function's name, made specific where it is shared."""
    segment = route.path.removeprefix("/api/v1/").split("/", 1)[0]
    if segment == "uploads" and route.name in _TUS_IDS:
        return _TUS_IDS[route.name]
    if segment in _SINGULAR and route.name.endswith("_item"):
        return route.name.removesuffix("_item") + "_" + _SINGULAR[segment]
    return route.name


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_TITLES.get(status, problems.title_of(f"status_{status}")),
        "content": {problems.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_SCHEMA: Final = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is the stable member to switch on.",
    "required": ["type", "title", "status", "detail", "code", "message"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "example": "/api/v1/problems/name_taken"},
        "title": {"type": "string", "example": "Name taken"},
        "status": {"type": "integer", "example": 409},
        "detail": {"type": "string"},
        "instance": {"type": "string", "format": "uri-reference"},
        "code": {"type": "string", "pattern": "^[a-z_]+$", "example": "name_taken"},
        "message": {"type": "string", "description": "The same text as detail (older clients read it)."},
        "details": {"type": "object", "additionalProperties": True},
    },
}


def _statuses(path: str, method: str) -> tuple[int, ...]:
    statuses = list(_EVERY)
    if method in {"post", "put", "patch", "delete"}:
        statuses += _WRITE
    if method == "get" and re.search(r"/(content|preview)$", path):
        statuses += _READ_CONTENT
    if path.startswith("/api/v1/uploads"):
        statuses += _TUS
    return tuple(statuses)


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (Profile > Tokens, or POST /api/v1/me/tokens).",
        }
    }
    schema["security"] = [{BEARER: []}]
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if path.startswith(PUBLIC_PREFIXES):
                operation["security"] = []  # open to anyone: no sign-in
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in _statuses(path, method):
                responses[str(status)] = _problem_response(status)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response["content"] = _problem_response(int(status))["content"]
    components["schemas"].pop("HTTPValidationError", None)
    components["schemas"].pop("ValidationError", None)
    return schema


def install(app: FastAPI, *, load_routes: Callable[[], None] = lambda: None) -> None:
    """Serve `document(app)`, built once, after `load_routes` has loaded the routes not loaded yet."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            load_routes()
            app.openapi_schema = document(app)
        return app.openapi_schema

    replace: Callable[[], dict[str, Any]] = openapi
    app.openapi = replace  # type: ignore[method-assign]  # FastAPI's documented way to customise it
