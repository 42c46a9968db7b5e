"""StrongroomError → HTTP status and {"code", "message"}: the one table for the REST door."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom import errors
from strongroom.outages import RETRY_AFTER_SECONDS

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


def error_body(code: str, message: str, **data: object) -> dict[str, object]:
    body: dict[str, object] = {"code": code, "message": message}
    if data:
        body["details"] = data
    return body


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
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.data), status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return JSONResponse(
            error_body("bad_input", f"{first['field']}: {first['message']}", problems=problems),
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
