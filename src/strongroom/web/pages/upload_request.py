"""The public door of upload requests: `/r/<token>` form, resumable chunk API, receipt page.

Without JavaScript the form posts as multipart; with it (static/external/upload.js) files go up in
offset-addressed chunks that resume after a dropped connection:
  POST  /r/<token>/api/submissions                      {form}            → {id, reference}
  POST  /r/<token>/api/submissions/<sid>/files          {name, size}      → {id, offset}
  GET   /r/<token>/api/submissions/<sid>/files/<fid>                      → {offset, size}
  PATCH /r/<token>/api/submissions/<sid>/files/<fid>    Upload-Offset: n  → {offset}
  POST  /r/<token>/api/submissions/<sid>/complete                         → the receipt
The request's size cap holds for the running total of a submission, however it is chunked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from strongroom import errors
from strongroom.api.deps import origin_of
from strongroom.content.maintenance import delete_blobs
from strongroom.db.session import on_commit, transaction
from strongroom.numbers import MAX_COUNT, StrictCount
from strongroom.runtime import Runtime
from strongroom.sharing import upload_receipts, upload_requests, upload_submissions
from strongroom.sharing.models import UploadRequest
from strongroom.sharing.schemas import Receipt, SubmissionFileStart, SubmissionStart
from strongroom.web.pages import upload_password
from strongroom.web.pages.shared_link_door import error_json, error_page, page, runtime_of, secure


def _screen(runtime: Runtime, request: Request, token: str) -> None:
    """Count a token that opens no upload request as a guess (committed), then answer NotFound."""
    with transaction(runtime.sessions) as session:
        known = upload_requests.screen_token(
            session, token, origin=origin_of(request), settings=runtime.settings.sharing, clock=runtime.clock
        )
    if not known:
        raise errors.NotFound("upload request", None)


class ScreenedRoute(APIRoute):
    """Every /r/<token> route screens its token first, so guessing is throttled on each of them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def screened(request: Request) -> Response:
            token = request.path_params.get("token")
            if token is not None:
                try:
                    await run_in_threadpool(_screen, runtime_of(request), request, token)
                    blocked = await run_in_threadpool(
                        upload_password.gate, runtime_of(request), request, token
                    )
                except errors.StrongroomError as exc:
                    if "/api/" in request.url.path:
                        return error_json(exc)
                    return error_page(request, exc)
                if blocked is not None:
                    return blocked  # the password page: this link asks for one first
            return await handle(request)

        return screened


router = APIRouter(include_in_schema=False, route_class=ScreenedRoute)
upload_password.register(router)  # /r/<token>/password, screened like every /r/ route


def _human_size(value: int) -> str:
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{value} bytes"


def _request(runtime: Runtime, token: str) -> UploadRequest:
    with transaction(runtime.sessions) as session:
        return upload_requests.find_live_request(session, token, clock=runtime.clock)


def _form_page(
    request: Request,
    token: str,
    up: UploadRequest,
    *,
    error: str | None = None,
    error_field: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    fields = upload_requests.fields_of(up)
    # The error summary links to the field at fault; anything not about a form field is about the files.
    names = {field.name for field in fields}
    error_id = f"f-{error_field}" if error_field in names else "files"
    return page(
        request,
        "upload_form.html",
        status_code=status_code,
        title=up.title,
        upload=up,
        base=f"/r/{token}",
        fields=fields,
        max_size=_human_size(up.max_bytes),
        allowed=json.loads(up.allowed_types),
        error=error,
        error_field=error_id if error else None,
        form=form or {},
    )


@router.get("/r/{token}", response_class=HTMLResponse)
async def upload_page(token: str, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        up = await run_in_threadpool(_request, runtime, token)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    return _form_page(request, token, up)


# --- the steps, shared by the form post and the JSON API ----------------------------------------


def start(runtime: Runtime, request: Request, token: str, form: dict[str, str]) -> tuple[str, str]:
    from strongroom.api.deps import origin_of

    with transaction(runtime.sessions) as session:
        up = upload_requests.find_live_request(session, token, clock=runtime.clock)
        submission = upload_submissions.start_submission(
            session, up, form=form, origin=origin_of(request), clock=runtime.clock
        )
        return submission.id, submission.reference


def add_file(runtime: Runtime, token: str, submission_id: str, body: SubmissionFileStart) -> tuple[str, int]:
    with transaction(runtime.sessions) as session:
        up = upload_requests.find_live_request(session, token, clock=runtime.clock)
        file = upload_submissions.start_file(
            session,
            up,
            submission_id=submission_id,
            name=body.name,
            size=body.size,
            content_type=body.content_type,
        )
        return file.id, file.received


async def put_chunk(
    runtime: Runtime, token: str, submission_id: str, *, file_id: str, offset: int, chunks: Any
) -> int:
    def prepare() -> upload_submissions.ChunkPlan:
        with transaction(runtime.sessions) as session:
            up = upload_requests.find_live_request(session, token, clock=runtime.clock)
            return upload_submissions.prepare_chunk(
                session, up, submission_id=submission_id, file_id=file_id, offset=offset
            )

    plan = await run_in_threadpool(prepare)
    try:
        sealed = await upload_submissions.receive_chunk(
            chunks,
            plan,
            store=runtime.blobs,
            keys=runtime.keys,
            segment_bytes=runtime.settings.limits.segment_bytes,
        )
    except ClientDisconnect as exc:
        raise errors.InputError("The chunk was interrupted; ask where the file stands and resume.") from exc

    def commit() -> int:
        with transaction(runtime.sessions) as session:
            up = upload_requests.find_live_request(session, token, clock=runtime.clock)
            file = upload_submissions.commit_chunk(
                session, up, submission_id=submission_id, plan=plan, sealed=sealed
            )
            return file.received

    try:
        return await run_in_threadpool(commit)
    except BaseException:
        runtime.blobs.delete(sealed.blob_key)
        raise


def complete(runtime: Runtime, request: Request, token: str, submission_id: str) -> Receipt:
    from strongroom.api.deps import origin_of

    origin = origin_of(request)
    with transaction(runtime.sessions) as session:
        up = upload_requests.find_live_request(session, token, clock=runtime.clock)
        plans = upload_receipts.prepare_completion(session, up, submission_id=submission_id, origin=origin)
    segment = runtime.settings.limits.segment_bytes
    joined = []
    try:
        for plan in plans:  # a loop, not a comprehension: on failure, what was joined so far is cleaned up
            joined.append(  # noqa: PERF401
                (
                    plan,
                    upload_receipts.join_chunks(
                        plan,
                        store=runtime.blobs,
                        keys=runtime.keys,
                        segment_bytes=segment,
                        sessions=runtime.sessions,
                        clock=runtime.clock,
                    ),
                )
            )
        with transaction(runtime.sessions) as session:
            up = upload_requests.find_live_request(session, token, clock=runtime.clock)
            receipt, freed = upload_receipts.complete_submission(
                session,
                up,
                submission_id=submission_id,
                joined=joined,
                origin=origin,
                jobs=runtime.jobs,
                scan_required=runtime.settings.scan.required_for_external,
                mail=runtime.settings.mail,
                public_url=runtime.settings.public_url,
                clock=runtime.clock,
                store=runtime.blobs,
                keys=runtime.keys,
            )
            on_commit(session, lambda: delete_blobs(runtime.blobs, freed))
    except BaseException:
        delete_blobs(runtime.blobs, [sealed.blob_key for _, sealed in joined])
        raise
    return receipt


# --- the form post (no JavaScript) --------------------------------------------------------------


@router.post("/r/{token}", response_class=HTMLResponse)
async def upload_form(token: str, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        up = await run_in_threadpool(_request, runtime, token)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    fields: dict[str, str] = {}
    # Only start() checks the form's fields; every other error is about the files, whatever its `field`.
    checking_form = False
    try:
        async with request.form(max_files=100, max_fields=50) as form:
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            files = [
                v for k, v in form.multi_items() if k == "files" and isinstance(v, UploadFile) and v.filename
            ]
            if not files:
                raise errors.InputError("Choose at least one file to send.")
            for upload in files:  # refuse before anything is stored, so no empty submission is left behind
                upload_submissions.ensure_type_allowed(
                    up, upload.filename or "file", upload.content_type or "application/octet-stream"
                )
            checking_form = True
            submission_id, _ = await run_in_threadpool(start, runtime, request, token, fields)
            checking_form = False
            for upload in files:
                size = upload.size or 0
                file_id, _ = await run_in_threadpool(
                    add_file,
                    runtime,
                    token,
                    submission_id,
                    SubmissionFileStart(
                        name=upload.filename or "file", size=size, content_type=upload.content_type
                    ),
                )
                if size:
                    await put_chunk(
                        runtime, token, submission_id, file_id=file_id, offset=0, chunks=_read(upload)
                    )
            receipt = await run_in_threadpool(complete, runtime, request, token, submission_id)
    except errors.Gone as exc:
        return error_page(request, exc)
    except errors.StrongroomError as exc:
        field = exc.data.get("field")
        return _form_page(
            request,
            token,
            up,
            error=exc.message,
            error_field=field if checking_form and isinstance(field, str) else None,
            form=fields,
            status_code=400,
        )
    return secure(RedirectResponse(f"/r/{token}/receipt/{receipt.reference}", status_code=303))


async def _read(upload: UploadFile) -> Any:
    while chunk := await upload.read(1 << 20):
        yield chunk


@router.get("/r/{token}/receipt/{reference}", response_class=HTMLResponse)
async def receipt_page(token: str, reference: str, request: Request) -> Response:
    runtime = runtime_of(request)

    def load() -> Receipt:
        with transaction(runtime.sessions) as session:
            up = upload_requests.find_request(session, token)
            return upload_receipts.receipt_of(session, up, reference=reference)

    try:
        receipt = await run_in_threadpool(load)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    return page(request, "receipt.html", title=f"Receipt {receipt.reference}", receipt=receipt)


# --- JSON API for resumable uploads -------------------------------------------------------------


@router.post("/r/{token}/api/submissions")
async def api_start(token: str, body: SubmissionStart, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        submission_id, reference = await run_in_threadpool(start, runtime, request, token, body.form)
    except errors.StrongroomError as exc:
        return error_json(exc)
    return secure(JSONResponse({"id": submission_id, "reference": reference}, status_code=201))


@router.post("/r/{token}/api/submissions/{submission_id}/files")
async def api_add_file(
    token: str, submission_id: str, body: SubmissionFileStart, request: Request
) -> Response:
    runtime = runtime_of(request)
    try:
        file_id, offset = await run_in_threadpool(add_file, runtime, token, submission_id, body)
    except errors.StrongroomError as exc:
        return error_json(exc)
    return secure(JSONResponse({"id": file_id, "offset": offset}, status_code=201))


@router.get("/r/{token}/api/submissions/{submission_id}/files/{file_id}")
async def api_file_state(token: str, submission_id: str, file_id: str, request: Request) -> Response:
    runtime = runtime_of(request)

    def load() -> dict[str, int]:
        with transaction(runtime.sessions) as session:
            up = upload_requests.find_live_request(session, token, clock=runtime.clock)
            file = upload_submissions.file_offset(session, up, submission_id=submission_id, file_id=file_id)
            return {"offset": file.received, "size": file.size}

    try:
        return secure(JSONResponse(await run_in_threadpool(load)))
    except errors.StrongroomError as exc:
        return error_json(exc)


@router.patch("/r/{token}/api/submissions/{submission_id}/files/{file_id}")
async def api_chunk(
    token: str,
    submission_id: str,
    file_id: str,
    request: Request,
    upload_offset: Annotated[StrictCount, Header(alias="Upload-Offset", ge=0, le=MAX_COUNT)],
) -> Response:
    runtime = runtime_of(request)
    try:
        offset = await put_chunk(
            runtime, token, submission_id, file_id=file_id, offset=upload_offset, chunks=request.stream()
        )
    except errors.StrongroomError as exc:
        return error_json(exc)
    return secure(JSONResponse({"offset": offset}))


@router.post("/r/{token}/api/submissions/{submission_id}/complete")
async def api_complete(token: str, submission_id: str, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        receipt = await run_in_threadpool(complete, runtime, request, token, submission_id)
    except errors.StrongroomError as exc:
        return error_json(exc)
    return secure(JSONResponse(json.loads(receipt.model_dump_json())))
