"""Streaming a sealed version's bytes to an HTTP client: headers, Range and the decrypting iterator."""

import asyncio
import base64
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Mapping
from contextlib import AbstractContextManager
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import Query
from starlette.responses import StreamingResponse
from starlette.types import Send

from strongroom.content import media_types, scrub
from strongroom.content import reads as content_reads
from strongroom.content.reads import ContentToSend
from strongroom.db.session import transaction
from strongroom.errors import InputError
from strongroom.runtime import Runtime
from strongroom.storage.sealed_blobs import read_plaintext

Playback = Annotated[
    str | None,
    Query(
        description="The id of one play in a media player (the web pages draw one per page view): all "
        "Range requests with the same id are recorded as one playback, not as separate downloads",
        max_length=64,
    ),
]


def repr_digest(sha256_hex: str) -> str:
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"


def parse_digest_header(value: str | None) -> bytes | None:
    """The SHA-256 from an RFC 9530 `Repr-Digest`/`Content-Digest` field; other algorithms are ignored."""
    if not value:
        return None
    for member in value.split(","):
        algorithm, _, encoded = member.strip().partition("=")
        if algorithm.strip().lower() != "sha-256":
            continue
        encoded = encoded.strip()
        if not (encoded.startswith(":") and encoded.endswith(":")):
            raise InputError("Digest values are byte sequences: sha-256=:<base64>:", field="Repr-Digest")
        try:
            digest = base64.b64decode(encoded[1:-1], validate=True)
        except ValueError as exc:
            raise InputError("The sha-256 digest is not valid base64.", field="Repr-Digest") from exc
        if len(digest) != 32:
            raise InputError("A sha-256 digest is 32 bytes.", field="Repr-Digest")
        return digest
    return None


def content_disposition(name: str, *, inline: bool = False) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def plaintext_chunks(runtime: Runtime, content: ContentToSend) -> Iterator[memoryview]:
    """The decrypted bytes to send. A blob that fails its integrity check ends the response and is
    recorded as a `storage.blob.tampered` incident naming the file and version."""
    start, end = (content.byte_range.start, content.byte_range.end) if content.byte_range else (0, None)
    with _incident_recorded(runtime, content):
        chunks = read_plaintext(
            store=runtime.blobs,
            keys=runtime.keys,
            blob_key=content.blob_key,
            wrapped_dek=content.wrapped_dek,
            aad_id=content.aad_id,
            plaintext_size=content.size,
            start=start,
            end_inclusive=end,
        )
        if content.size == 0:
            # Its one (empty) segment is authenticated before the response starts: with no body
            # to cut short, a failure found later could not show.
            chunks = iter(list(chunks))
    return _checked(runtime, content, chunks)


def _checked(runtime: Runtime, content: ContentToSend, chunks: Iterator[memoryview]) -> Iterator[memoryview]:
    # A CorruptBlob ends the response: the client never gets bytes that did not authenticate.
    with _incident_recorded(runtime, content):
        yield from chunks


def _incident_recorded(runtime: Runtime, content: ContentToSend) -> AbstractContextManager[None]:
    return scrub.tampering_recorded(
        runtime.sessions,
        found_by="download",
        clock=runtime.clock,
        ids={"file_id": content.file_id, "version_id": content.version_id, "blob_key": content.blob_key},
    )


BATCH_BYTES = 4 << 20


def _next_batch(chunks: Iterator[memoryview]) -> list[memoryview]:
    """Up to BATCH_BYTES of decrypted chunks: one thread hop per few segments instead of per segment."""
    batch: list[memoryview] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH_BYTES:
            break
    return batch


async def _in_thread(chunks: Iterator[memoryview]) -> AsyncIterator[memoryview]:
    """Decrypt the next batch on a worker thread while the event loop sends the current one."""
    loop = asyncio.get_running_loop()
    pending = loop.run_in_executor(None, _next_batch, chunks)
    try:
        while batch := await pending:
            pending = loop.run_in_executor(None, _next_batch, chunks)
            for chunk in batch:
                yield chunk
    finally:
        pending.cancel()


def content_headers(content: ContentToSend, *, inline: bool = False) -> dict[str, str]:
    """Headers for stored content on every door. `inline` is a wish: only types on the allow-list
    (content.media_types.INLINE_TYPES) are shown inline; everything else is an attachment."""
    inline = inline and media_types.may_show_inline(content.content_type)
    headers = {
        "ETag": f'"{content.sha256}"',
        "Repr-Digest": repr_digest(content.sha256),
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(content.file_name, inline=inline),
        # Uploaded HTML or SVG must never run as active content in our origin.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    }
    if content.modified_at is not None:
        headers["Last-Modified"] = format_datetime(content.modified_at, usegmt=True)
    return headers


class RecordedStream(StreamingResponse):
    """A response carrying a recorded read: if it ends before its last byte (the client went away, or
    the stream failed), `content.reads.record_interrupted_read` notes how many bytes were sent.

    Bytes count as sent once the server accepted them for the connection; some of the last ones may
    still have been in flight when the client left.
    """

    def __init__(
        self,
        body: AsyncIterable[bytes | memoryview],
        *,
        runtime: Runtime,
        content: ContentToSend,
        status_code: int,
        headers: Mapping[str, str],
        recorded_elsewhere: tuple[type[BaseException], ...] = (),
    ) -> None:
        super().__init__(body, status_code=status_code, headers=headers, media_type=content.content_type)
        self.runtime = runtime
        self.content = content
        # Errors whose raiser already wrote the event that explains the cut (e.g. a revoked link).
        self.recorded_elsewhere = recorded_elsewhere

    async def stream_response(self, send: Send) -> None:
        sent = 0
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            async for chunk in self.body_iterator:
                # Views are sent as they are (Starlette and uvicorn take any buffer): a bytes()
                # copy here would cost a pass over every byte sent.
                data = chunk.encode(self.charset) if isinstance(chunk, str) else chunk
                await send({"type": "http.response.body", "body": data, "more_body": True})
                sent += len(data)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except BaseException as exc:
            if self.content.reader is not None and not isinstance(exc, self.recorded_elsewhere):
                # Shielded: when the client went away, the disconnect has cancelled this task.
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._record_interrupted, sent)
            raise

    def _record_interrupted(self, sent: int) -> None:
        with transaction(self.runtime.sessions) as session:
            content_reads.record_interrupted_read(
                session, self.content, bytes_sent=sent, clock=self.runtime.clock
            )


def stream_content(
    runtime: Runtime, content: ContentToSend, *, inline: bool = False, head: bool = False
) -> StreamingResponse:
    headers = content_headers(content, inline=inline)
    status = 200
    length = content.size
    if content.byte_range is not None:
        status = 206
        length = content.byte_range.length
        headers["Content-Range"] = f"bytes {content.byte_range.start}-{content.byte_range.end}/{content.size}"
    headers["Content-Length"] = str(length)
    if head:
        return StreamingResponse(
            _empty(), status_code=status, headers=headers, media_type=content.content_type
        )
    body = _in_thread(plaintext_chunks(runtime, content))
    if content.reader is None:  # a rendition: nothing was recorded as a read of the original
        return StreamingResponse(body, status_code=status, headers=headers, media_type=content.content_type)
    return RecordedStream(body, runtime=runtime, content=content, status_code=status, headers=headers)


async def _empty() -> AsyncIterator[bytes]:
    nothing: tuple[bytes, ...] = ()
    for chunk in nothing:
        yield chunk
