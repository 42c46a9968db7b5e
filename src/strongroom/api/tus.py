"""tus 1.0 resumable uploads at /api/v1/uploads: core, creation, creation-with-upload, expiration,
checksum and termination (https://tus.io/protocols/resumable-upload).

The door only translates headers; content/resumable_uploads.py holds the rules. Metadata
(`Upload-Metadata`): `filename` (required) and `folder_id` or `parent_id` (a folder id or `root`,
the default); `filetype` sets the content type. Authenticate with `Authorization: Bearer <token>`.
"""

import base64
import binascii
import json
import re
from email.utils import format_datetime
from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from strongroom.actors import Actor
from strongroom.api.deps import authenticate
from strongroom.api.errors import error_body, status_of
from strongroom.api.folders import resolve
from strongroom.content import resumable_append as appending
from strongroom.content import resumable_uploads as tus
from strongroom.content import upload_caps
from strongroom.db.session import transaction
from strongroom.errors import InputError, StrongroomError
from strongroom.numbers import require_count
from strongroom.problems import PROBLEM_JSON
from strongroom.runtime import Runtime

router = APIRouter(tags=["uploads (tus)"])

TUS_VERSION: Final = "1.0.0"
EXTENSIONS: Final = "creation,creation-with-upload,expiration,checksum,termination"
OFFSET_TYPE: Final = "application/offset+octet-stream"
CHECKSUM_MISMATCH_STATUS: Final = 460
MAX_METADATA: Final = 4096
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")


def _runtime(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


def _services(request: Request) -> appending.Services:
    runtime = _runtime(request)
    hashes = getattr(request.app.state, "tus_hashes", None)
    if hashes is None:
        hashes = request.app.state.tus_hashes = appending.HashCache()
    return appending.Services(
        sessions=runtime.sessions,
        store=runtime.blobs,
        keys=runtime.keys,
        clock=runtime.clock,
        hashes=hashes,
        segment_bytes=runtime.settings.limits.segment_bytes,
        jobs=runtime.jobs,
    )


def _headers(status: tus.UploadStatus | None = None) -> dict[str, str]:
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}
    if status is not None:
        headers["Upload-Offset"] = str(status.received)
        if status.expires_at is not None:
            headers["Upload-Expires"] = format_datetime(status.expires_at, usegmt=True)
    return headers


def _error(exc: StrongroomError, *, head: bool = False) -> Response:
    status = CHECKSUM_MISMATCH_STATUS if isinstance(exc, appending.ChecksumMismatch) else status_of(exc)
    headers = _headers()
    if isinstance(exc, tus.OffsetMismatch):
        headers["Upload-Offset"] = str(exc.data["offset"])
    if head:
        return Response(status_code=status, headers=headers)
    return Response(
        json.dumps(error_body(status, exc.code, exc.message, **exc.data)),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def _check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise _VersionMismatch


class _VersionMismatch(Exception):
    pass


def _version_refused() -> Response:
    return Response(
        status_code=412,
        headers={"Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION},
        content=b"Tus-Resumable 1.0.0 is required.",
    )


def parse_metadata(value: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64(value)` pairs; a key alone has an empty value."""
    if not value:
        return {}
    if len(value) > MAX_METADATA:
        raise InputError(
            f"Upload-Metadata is longer than {MAX_METADATA} characters.", field="Upload-Metadata"
        )
    pairs: dict[str, str] = {}
    for member in value.split(","):
        key, _, encoded = member.strip().partition(" ")
        if not key:
            raise InputError("Upload-Metadata has an empty key.", field="Upload-Metadata")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InputError(
                f"Upload-Metadata {key!r} is not base64 of UTF-8 text.", field="Upload-Metadata"
            ) from exc
    return pairs


def _int_header(request: Request, name: str) -> int:
    return require_count(request.headers.get(name), field=name)


@router.options("/uploads", include_in_schema=False)
@router.options("/uploads/{upload_id}", include_in_schema=False)
def options(request: Request) -> Response:
    """What this tus server supports."""
    runtime = _runtime(request)
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(runtime.settings.limits.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(appending.CHECKSUM_ALGORITHMS),
        },
    )


@router.post("/uploads", status_code=201, responses={201: {"description": "Upload created; see Location."}})
async def create(request: Request) -> Response:
    """Create a tus upload (`Upload-Length`, `Upload-Metadata`: `filename`, `folder_id`). A body with
    `Content-Type: application/offset+octet-stream` is its first chunk (creation-with-upload)."""
    try:
        _check_version(request)
        runtime = _runtime(request)
        actor = await run_in_threadpool(authenticate, runtime, request)
        if "upload-defer-length" in request.headers:
            raise InputError("Upload-Defer-Length is not supported; send Upload-Length.")
        length = _int_header(request, "Upload-Length")
        raw_metadata = request.headers.get("upload-metadata")
        status = await run_in_threadpool(_create, runtime, actor, length, raw_metadata)
        if request.headers.get("content-type") == OFFSET_TYPE:
            status = await appending.append(
                _services(request),
                actor,
                upload_id=status.id,
                offset=0,
                chunks=request.stream(),
                checksum=appending.parse_checksum(request.headers.get("upload-checksum")),
            )
    except ClientDisconnect:
        return Response(status_code=400, headers=_headers())
    except _VersionMismatch:
        return _version_refused()
    except StrongroomError as exc:
        return _error(exc)
    headers = _headers(status)
    headers["Location"] = f"/api/v1/uploads/{status.id}"
    return Response(status_code=201, headers=headers)


def _create(runtime: Runtime, actor: Actor, length: int, raw_metadata: str | None) -> tus.UploadStatus:
    metadata = parse_metadata(raw_metadata)
    name = metadata.get("filename") or metadata.get("name")
    if not name:
        raise InputError("Upload-Metadata needs a `filename`.", field="Upload-Metadata")
    folder_id = resolve(runtime, actor, metadata.get("folder_id") or metadata.get("parent_id") or "root")
    content_type = metadata.get("filetype") or metadata.get("content_type")
    if content_type is not None and (len(content_type) > 200 or not _CONTENT_TYPE.fullmatch(content_type)):
        content_type = None
    limits = runtime.settings.limits
    with transaction(runtime.sessions) as session:
        upload_caps.ensure_room_for_upload(
            session,
            actor,
            length=length,
            max_open=limits.max_open_uploads_per_user,
            max_open_bytes=limits.max_open_upload_bytes_per_user,
            clock=runtime.clock,
        )
        upload = tus.create_upload(
            session,
            actor,
            folder_id=folder_id,
            name=name,
            length=length,
            content_type=content_type,
            upload_metadata=raw_metadata,
            keys=runtime.keys,
            clock=runtime.clock,
            segment_bytes=limits.segment_bytes,
            max_bytes=limits.max_upload_bytes,
        )
        return tus.status_of(upload)


@router.head("/uploads/{upload_id}")
async def head(upload_id: str, request: Request) -> Response:
    """Where an upload is: `Upload-Offset`, `Upload-Length`, `Upload-Metadata`, `Upload-Expires`."""
    try:
        _check_version(request)
        runtime = _runtime(request)
        actor = await run_in_threadpool(authenticate, runtime, request)

        def read() -> tus.UploadStatus:
            with transaction(runtime.sessions) as session:
                return tus.status_of(tus.get_upload(session, actor, upload_id, clock=runtime.clock))

        status = await run_in_threadpool(read)
    except _VersionMismatch:
        return _version_refused()
    except StrongroomError as exc:
        return _error(exc, head=True)
    headers = _headers(status)
    headers["Upload-Length"] = str(status.length)
    if status.upload_metadata:
        headers["Upload-Metadata"] = status.upload_metadata
    if status.file_id:
        headers["Location"] = f"/api/v1/files/{status.file_id}"
    return Response(status_code=200, headers=headers)


@router.patch("/uploads/{upload_id}", status_code=204)
async def patch(upload_id: str, request: Request) -> Response:
    """Append the body at `Upload-Offset` (`Content-Type: application/offset+octet-stream`).
    Optional `Upload-Checksum: sha256 <base64>` (also sha1, md5): a mismatch answers 460 and keeps nothing."""
    try:
        _check_version(request)
        runtime = _runtime(request)
        actor = await run_in_threadpool(authenticate, runtime, request)
        if request.headers.get("content-type") != OFFSET_TYPE:
            return Response(
                status_code=415, headers=_headers(), content=f"Content-Type must be {OFFSET_TYPE}."
            )
        offset = _int_header(request, "Upload-Offset")
        checksum = appending.parse_checksum(request.headers.get("upload-checksum"))
        status = await appending.append(
            _services(request),
            actor,
            upload_id=upload_id,
            offset=offset,
            chunks=request.stream(),
            checksum=checksum,
        )
    except ClientDisconnect:
        # What arrived is kept (unless checksummed); nobody is left to read an answer.
        return Response(status_code=400, headers=_headers())
    except _VersionMismatch:
        return _version_refused()
    except StrongroomError as exc:
        return _error(exc)
    headers = _headers(status)
    if status.file_id:
        headers["Location"] = f"/api/v1/files/{status.file_id}"
    return Response(status_code=204, headers=headers)


@router.delete("/uploads/{upload_id}", status_code=204)
async def delete(upload_id: str, request: Request) -> Response:
    """Terminate an upload: its stored bytes are removed (a completed file is not touched)."""
    try:
        _check_version(request)
        runtime = _runtime(request)
        actor = await run_in_threadpool(authenticate, runtime, request)

        def terminate() -> None:
            with transaction(runtime.sessions) as session:
                key = tus.terminate(
                    session, actor, upload_id=upload_id, store=runtime.blobs, clock=runtime.clock
                )
            if key is not None:
                runtime.blobs.discard_resumable(key)

        await run_in_threadpool(terminate)
    except _VersionMismatch:
        return _version_refused()
    except StrongroomError as exc:
        return _error(exc)
    return Response(status_code=204, headers=_headers())
