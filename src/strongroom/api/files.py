"""Files: streaming upload (PUT), metadata, content download with Range, rename/move, copy, delete, locks."""

import json
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse

from strongroom.api import idempotency
from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, IfMatch, RuntimeDep, authenticate, signed_in
from strongroom.api.folders import resolve
from strongroom.api.streaming import Playback, parse_digest_header, stream_content
from strongroom.content import files as content_files
from strongroom.content import locks as content_locks
from strongroom.content import playbacks, uploads
from strongroom.content import reads as content_reads
from strongroom.content import trash as content_trash
from strongroom.content.preconditions import WritePrecondition, parse_entity_tags
from strongroom.content.schemas import ItemCopy, ItemRead, ItemUpdate, LockCreate, UploadResult
from strongroom.db.session import transaction
from strongroom.errors import Conflict, InputError, TooLarge
from strongroom.numbers import require_count
from strongroom.runtime import Runtime
from strongroom.sharing import link_scope
from strongroom.storage.sealed_blobs import SealedBlob

router = APIRouter(tags=["files"])

UPLOAD_RESPONSES: dict[int | str, dict[str, object]] = {
    201: {"description": "A new file was created."},
    200: {"description": "A new version of an existing file was stored."},
    400: {"description": "Bad name, digest mismatch or malformed request."},
    404: {"description": "No such folder."},
    409: {"description": "A folder has that name, or the file is locked."},
    412: {"description": "If-Match or If-None-Match does not hold; nothing was stored."},
    413: {"description": "The body is over the configured limit."},
}


@router.put(
    "/folders/{folder_id}/files/{name:path}",
    response_model=UploadResult,
    status_code=201,
    responses=UPLOAD_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_file(
    folder_id: str,
    name: str,
    request: Request,
    response: Response,
    repr_digest: Annotated[str | None, Header(alias="Repr-Digest")] = None,
    content_digest: Annotated[str | None, Header(alias="Content-Digest")] = None,
) -> UploadResult | Response:
    """Store the raw request body as a new file, or as a new version of the file with that name.

    Send `Repr-Digest: sha-256=:<base64>:` (RFC 9530) to have the server refuse a body that arrived
    different from what you sent; nothing is stored then. `If-Match: <etag>` (the file's `ETag` or its
    content's) replaces the file only if nobody changed it since you read it, `If-None-Match: *` only
    creates; otherwise 412 and nothing is stored.
    """
    runtime = request.app.state.runtime
    actor = await run_in_threadpool(authenticate, runtime, request)
    precondition = write_precondition(request)
    idem = idempotency.identify(
        actor,
        request.headers.get("idempotency-key"),
        request=request,
        fingerprint=upload_fingerprint(request),
    )
    # A retry of a stored upload is answered before its body is read: the bytes need not come again.
    if idem is not None and (replay := await run_in_threadpool(idempotency.remembered, runtime, idem)):
        return replay
    expected = parse_digest_header(repr_digest) or parse_digest_header(content_digest)
    max_bytes = runtime.settings.limits.max_upload_bytes
    # Read from the raw headers, not declared as a parameter: it describes the body, it is not an input.
    content_length = declared_length(request)
    if content_length is not None and content_length > max_bytes:
        raise TooLarge(f"The file is larger than the limit of {max_bytes} bytes.", limit=max_bytes)
    folder_id = await run_in_threadpool(resolve, runtime, actor, folder_id)

    def prepare() -> uploads.UploadPlan:
        with transaction(runtime.sessions) as session:
            return uploads.prepare_upload(
                session, actor, folder_id=folder_id, name=name, precondition=precondition
            )

    plan = await run_in_threadpool(prepare)
    try:
        sealed = await uploads.receive_stream(
            request.stream(),
            store=runtime.blobs,
            keys=runtime.keys,
            version_id=plan.version_id,
            segment_bytes=runtime.settings.limits.segment_bytes,
            max_bytes=max_bytes,
            expected_sha256=expected,
        )
    except ClientDisconnect as exc:
        raise InputError(
            "The upload was interrupted before the body was complete; nothing was stored."
        ) from exc
    if content_length is not None and sealed.size != content_length:
        runtime.blobs.delete(sealed.blob_key)
        raise InputError("The body was shorter than its Content-Length; nothing was stored.")

    def commit(sealed: SealedBlob) -> UploadResult:
        with transaction(runtime.sessions) as session:
            file, version = uploads.commit_upload(
                session,
                actor,
                plan=plan,
                sealed=sealed,
                clock=runtime.clock,
                store=runtime.blobs,
                keys=runtime.keys,
                content_type=uploads.declared_content_type(request.headers.get("content-type")),
                jobs=runtime.jobs,
                precondition=precondition,
            )
            session.flush()
            result = UploadResult(
                id=file.id,
                version_id=version.id,
                name=file.name,
                size=version.size,
                sha256=version.sha256,
                version_number=version.number,
            )
            response.headers["ETag"] = file.etag
            response.headers["Location"] = f"/api/v1/files/{result.id}"
            response.status_code = 200 if result.version_number > 1 else 201
            idempotency.remember(
                session,
                runtime,
                idem,
                status_code=response.status_code,
                body=result,
                headers=dict(response.headers),
            )
            return result

    try:
        return await run_in_threadpool(commit, sealed)
    except BaseException as exc:
        runtime.blobs.delete(sealed.blob_key)
        # A concurrent retry with the same key committed first: its answer is this request's answer.
        if isinstance(exc, Conflict) and idem is not None:
            replay = await run_in_threadpool(idempotency.remembered, runtime, idem)
            if replay is not None:
                return replay
        raise


def upload_fingerprint(request: Request) -> str:
    """What identifies an upload's body without reading it, for `Idempotency-Key`."""
    names = ("content-length", "repr-digest", "content-digest", "content-type", "if-match", "if-none-match")
    return json.dumps([request.headers.get(name) for name in names])


def write_precondition(request: Request) -> WritePrecondition:
    """`If-Match` / `If-None-Match` of a PUT (RFC 9110 §13.1). Raises InputError when malformed."""
    return WritePrecondition(
        if_match=parse_entity_tags(request.headers.get("if-match"), field="If-Match"),
        if_none_match=parse_entity_tags(request.headers.get("if-none-match"), field="If-None-Match"),
    )


def declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    return require_count(raw, field="Content-Length")


@router.get("/files/{file_id}", response_model=ItemRead)
def get_file(file_id: str, actor: CurrentActor, runtime: RuntimeDep, response: Response) -> ItemRead:
    """A file's details: size, SHA-256 of the current version, lock state."""
    with transaction(runtime.sessions) as session:
        read = ItemRead.of(content_files.get_item(session, actor, item_id=file_id))
    response.headers["ETag"] = read.etag
    return read


@router.get(
    "/files/{file_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "Partial content"},
        416: {"description": "Range not satisfiable"},
    },
)
def download_file(
    file_id: str,
    request: Request,
    runtime: RuntimeDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    reason: Reason = None,
    playback: Playback = None,
) -> Response:
    """The current version's bytes. One `Range: bytes=a-b` is honoured (206), unless `If-Range` (an
    ETag or the Last-Modified date you got) no longer names these bytes: then all of them come (200).
    `Repr-Digest` and `ETag` carry the SHA-256 of the whole file. Classified material may need
    `X-Strongroom-Reason` (else 428)."""
    return _download(
        runtime,
        request,
        file_id,
        None,
        range_header,
        if_none_match,
        reason,
        if_range=if_range,
        playback=playback,
    )


def _download(
    runtime: Runtime,
    request: Request,
    file_id: str,
    version_id: str | None,
    range_header: str | None,
    if_none_match: str | None,
    reason: str | None = None,
    *,
    if_range: str | None = None,
    playback: str | None = None,
) -> Response:
    playback_id = playbacks.parse_playback_id(playback)
    # The token check and the read share one transaction (deps.signed_in): the hot path of a player's
    # Range requests; the check itself is the same as every other route's.
    with signed_in(runtime, request) as (session, actor):
        content = content_reads.open_content(
            session,
            actor,
            file_id=file_id,
            version_id=version_id,
            range_header=range_header,
            if_range=if_range,
            clock=runtime.clock,
            reason=reason,
            reason_required_for=runtime.settings.audit.reason_required_for,
            playback=playback_id,
            if_none_match=if_none_match,
        )
    if content.not_modified:
        return Response(status_code=304, headers={"ETag": f'"{content.sha256}"'})
    return stream_content(runtime, content)


@router.patch("/files/{item_id}", response_model=ItemRead)
@router.patch("/folders/{item_id}", response_model=ItemRead)
def update_item(
    item_id: str,
    body: ItemUpdate,
    actor: CurrentActor,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> ItemRead:
    """Rename (`name`) and/or move (`parent_id`) a file or folder. `If-Match` guards against lost updates."""
    if body.name is None and body.parent_id is None:
        raise InputError("Give a new `name`, a `parent_id`, or both.")
    target = resolve(runtime, actor, body.parent_id) if body.parent_id else None
    with transaction(runtime.sessions) as session:
        if target is not None:
            item = content_files.move_item(
                session,
                actor,
                item_id=item_id,
                target_folder_id=target,
                new_name=body.name,
                clock=runtime.clock,
                expected_etag=if_match,
                max_depth=runtime.settings.limits.max_path_depth,
            )
            link_scope.note_links_now_withholding(session, actor, item, cause="moved", clock=runtime.clock)
        else:
            assert body.name is not None
            item = content_files.rename_item(
                session,
                actor,
                item_id=item_id,
                new_name=body.name,
                clock=runtime.clock,
                expected_etag=if_match,
            )
        read = ItemRead.of(item)
    response.headers["ETag"] = read.etag
    return read


@router.post("/files/{item_id}/copy", status_code=201, response_model=ItemRead)
@router.post("/folders/{item_id}/copy", status_code=201, response_model=ItemRead)
def copy_item(
    item_id: str,
    body: ItemCopy,
    actor: CurrentActor,
    runtime: RuntimeDep,
    request: Request,
    idempotency_key: idempotency.IdempotencyKey = None,
) -> Response:
    """Copy a file (current version) or a folder tree into `parent_id`. With `Idempotency-Key`, a retry
    answers with the first copy instead of making another."""
    idem = idempotency.identify(
        actor, idempotency_key, request=request, fingerprint=idempotency.body_fingerprint(body)
    )
    target = resolve(runtime, actor, body.parent_id)

    def work(session: Session) -> tuple[ItemRead, dict[str, str]]:
        copy = content_files.copy_item(
            session, actor, item_id=item_id, target_folder_id=target, new_name=body.name, clock=runtime.clock
        )
        link_scope.note_links_now_withholding(session, actor, copy, cause="copied", clock=runtime.clock)
        session.flush()
        return ItemRead.of(copy), {"ETag": copy.etag}

    return idempotency.run_json(runtime, idem, work, status_code=201)


@router.delete("/files/{item_id}", response_model=ItemRead)
@router.delete("/folders/{item_id}", response_model=ItemRead)
def trash_item(item_id: str, actor: CurrentActor, runtime: RuntimeDep, if_match: IfMatch = None) -> ItemRead:
    """Move a file or folder to the trash; it can be restored for the configured retention period."""
    with transaction(runtime.sessions) as session:
        return ItemRead.of(
            content_trash.trash_item(
                session, actor, item_id=item_id, clock=runtime.clock, expected_etag=if_match
            )
        )


@router.post("/files/{file_id}/lock", response_model=ItemRead)
def lock_file(file_id: str, body: LockCreate, actor: CurrentActor, runtime: RuntimeDep) -> ItemRead:
    """Lock a file so that nobody else can change, move or delete it."""
    from datetime import timedelta

    with transaction(runtime.sessions) as session:
        return ItemRead.of(
            content_locks.lock_file(
                session, actor, file_id=file_id, duration=timedelta(minutes=body.minutes), clock=runtime.clock
            )
        )


@router.delete("/files/{file_id}/lock", response_model=ItemRead)
def unlock_file(file_id: str, actor: CurrentActor, runtime: RuntimeDep) -> ItemRead:
    """Release a lock you hold (owners may break any lock)."""
    with transaction(runtime.sessions) as session:
        return ItemRead.of(content_locks.unlock_file(session, actor, file_id=file_id, clock=runtime.clock))
