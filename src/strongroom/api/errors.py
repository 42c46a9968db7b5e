"""StrongroomError → HTTP status and an RFC 9457 problem (strongroom.problems): the one table for the
REST door, also used by tus and the shared-link pages."""

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom import errors
from strongroom.outages import RETRY_AFTER_SECONDS
from strongroom.problems import PROBLEM_JSON, problem

STATUS: list[tuple[type[errors.StrongroomError], int]] = [
    (errors.RangeNotSatisfiable, 416),
    (errors.InputError, 400),
    (errors.TooLarge, 413),
    (errors.Unauthenticated, 401),
    (errors.NotFound, 404),
    (errors.NotAllowed, 403),
    (errors.Conflict, 409),
    (errors.VersionChanged, 412),
    (errors.Gone, 410),
    (errors.ReasonRequired, 428),
    (errors.RateLimited, 429),
    (errors.Unavailable, 503),
    (errors.StorageFull, 507),
]


def status_of(exc: errors.StrongroomError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(status: int, code: str, message: str, **data: object) -> dict[str, object]:
    return problem(status, code, message, **data)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    data: Mapping[str, object] | None = None,
) -> ProblemResponse:
    body = problem(status, code, message, **(data or {}))
    return ProblemResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.StrongroomError)
    async def _domain_error(_request: Request, exc: errors.StrongroomError) -> JSONResponse:
        status = status_of(exc)
        headers = {}
        if isinstance(exc, errors.RangeNotSatisfiable) and "size" in exc.data:
            headers["Content-Range"] = f"bytes */{exc.data['size']}"
        if isinstance(exc, errors.Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="strongroom"'
        if isinstance(exc, errors.Unavailable):
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return problem_response(status, exc.code, exc.message, headers=headers, data=exc.data)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return problem_response(
            400, "bad_input", f"{first['field']}: {first['message']}", data={"problems": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))
