"""What a shared link sends: the original bytes (a download, counted against the link's limit), the
preview rendition (a view, never counted, always inline), and the PDF its page's document viewer reads
(a view too). All re-read the link while they stream, so revoking a link cuts a download already running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response

from strongroom import errors
from strongroom.api.streaming import Playback, RecordedStream, content_headers, plaintext_chunks
from strongroom.content import document_views, playbacks, renditions
from strongroom.content.reads import ContentToSend
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.sharing import link_visits
from strongroom.sharing.link_visits import Visit
from strongroom.sharing.models import SharedLink
from strongroom.web.pages.shared_link_door import (
    EXTERNAL_HEADERS,
    RECHECK_SECONDS,
    RECHECK_SEGMENTS,
    content_error,
    error_json,
    in_link,
    runtime_of,
    secure,
)

router = APIRouter(include_in_schema=False)


class LinkCut(Exception):
    """The link was revoked or expired while its download was streaming."""


async def guarded_stream(runtime: Runtime, link_id: str, content: ContentToSend) -> AsyncIterator[memoryview]:
    """The decrypted bytes, re-checking every few segments that the link is still live.

    The next chunk is decrypted on a worker thread while the event loop sends this one; the check,
    when due, runs before a chunk is sent, so a cut link sends nothing more. Chunks go out as the
    views they are (RecordedStream sends any buffer): a bytes() copy cost a pass over every byte.
    """
    chunks: Iterator[memoryview] = plaintext_chunks(runtime, content)
    done = object()
    sent, since_check, checked_at = 0, 0, time.monotonic()

    def still_live() -> bool:
        with transaction(runtime.sessions) as session:
            if link_visits.link_is_live(session, link_id, clock=runtime.clock):
                return True
            link_visits.record_stream_cut(
                session, link_id, file_id=content.file_id, sent=sent, clock=runtime.clock
            )
            return False

    loop = asyncio.get_running_loop()
    pending = loop.run_in_executor(None, next, chunks, done)
    try:
        while (chunk := await pending) is not done:
            if since_check >= RECHECK_SEGMENTS or time.monotonic() - checked_at >= RECHECK_SECONDS:
                if not await to_thread.run_sync(still_live):
                    raise LinkCut(link_id)
                since_check, checked_at = 0, time.monotonic()
            pending = loop.run_in_executor(None, next, chunks, done)
            assert isinstance(chunk, memoryview)
            sent += len(chunk)
            since_check += 1
            yield chunk
    finally:
        pending.cancel()


def stream(runtime: Runtime, link_id: str, content: ContentToSend, *, inline: bool) -> Response:
    headers = content_headers(content, inline=inline)
    status, length = 200, content.size
    if content.byte_range is not None:
        status, length = 206, content.byte_range.length
        headers["Content-Range"] = f"bytes {content.byte_range.start}-{content.byte_range.end}/{content.size}"
    headers["Content-Length"] = str(length)
    response = RecordedStream(
        guarded_stream(runtime, link_id, content),
        runtime=runtime,
        content=content,
        status_code=status,
        headers=headers,
        recorded_elsewhere=(LinkCut,),
    )
    for name, value in EXTERNAL_HEADERS.items():
        response.headers[name] = value
    return response


@router.get("/s/{token}/content/{file_id}")
def download(
    token: str,
    file_id: str,
    request: Request,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
) -> Response:
    """The original bytes (never for a preview-only link). Counts against the download limit once per
    visitor and file: that visitor's Range requests (seeking, resuming) do not count again.
    `If-Range` that no longer names the bytes turns a Range request into the whole file (200)."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[str, ContentToSend | None]:
        return link.id, link_visits.open_link_download(
            session,
            link,
            visit,
            file_id=file_id,
            range_header=range_header,
            if_range=if_range,
            clock=runtime.clock,
            resume_window=timedelta(hours=runtime.settings.sharing.resume_hours),
        )

    try:
        link_id, content = in_link(runtime, request, token, work, item_id=file_id)
        if content is None:
            raise errors.Gone("This link has been used as many times as it allows.")
    except errors.StrongroomError as exc:
        return content_error(request, token, exc)
    return stream(runtime, link_id, content, inline=False)


@router.get("/s/{token}/preview/{file_id}")
def preview(
    token: str,
    file_id: str,
    request: Request,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    playback: Playback = None,
) -> Response:
    """The preview rendition (never the original bytes); Range for seeking; not a download. The page's
    player sends a `playback` id: its requests are recorded as one playback (content.playbacks)."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[str, ContentToSend]:
        actor = link_visits.require_ready(session, link, visit)
        return link.id, renditions.open_preview(
            session,
            actor,
            file_id=file_id,
            range_header=range_header,
            clock=runtime.clock,
            via="link",
            playback=playbacks.parse_playback_id(playback),
        )

    try:
        link_id, content = in_link(runtime, request, token, work, item_id=file_id)
    except errors.StrongroomError as exc:
        return content_error(request, token, exc)
    return stream(runtime, link_id, content, inline=True)


# What a browser fetching for a script sends; a page, frame or <embed> opening the URL sends another.
NAVIGATIONS = frozenset({"document", "iframe", "frame", "embed", "object"})


@router.get("/s/{token}/document/{file_id}")
def document(token: str, file_id: str, request: Request) -> Response:
    """The PDF the page's viewer shows (a PDF's own bytes, or the PDF copy of an office document):
    inline, under the staff viewer's headers, recorded as one preview read, never counted as a download,
    also for preview-only links. Only for the viewer: opening the URL itself in the browser (which would
    offer the PDF to save) is refused, and nothing is recorded."""
    if request.headers.get("sec-fetch-dest", "empty") in NAVIGATIONS:
        exc = errors.NotAllowed("This document can be read on the link's page only.")
        return content_error(request, token, exc)
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[str, ContentToSend]:
        actor = link_visits.require_ready(session, link, visit)
        content = document_views.open_document(
            session, actor, file_id=file_id, clock=runtime.clock, via="link"
        )
        return link.id, content

    try:
        link_id, content = in_link(runtime, request, token, work, item_id=file_id)
    except errors.StrongroomError as exc:
        return content_error(request, token, exc)
    return stream(runtime, link_id, content, inline=True)


@router.get("/s/{token}/api/document/{file_id}")
def document_state(token: str, file_id: str, request: Request) -> Response:
    """Whether the viewer can show the document yet: `ready`, `queued` (the PDF copy is being made),
    `waiting_for_scan`, or `unsupported` with a `reason`. Reads no content; records nothing."""
    runtime = runtime_of(request)

    def work(session: Any, link: SharedLink, visit: Visit) -> dict[str, Any]:
        actor = link_visits.require_ready(session, link, visit)
        status = document_views.check_document(session, actor, file_id=file_id)
        return {"state": status.state, "reason": status.reason}

    try:
        return secure(JSONResponse(in_link(runtime, request, token, work, item_id=file_id)))
    except errors.StrongroomError as exc:
        return error_json(exc)
