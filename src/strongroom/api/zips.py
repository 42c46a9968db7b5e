"""One streaming zip of a folder or a selection, for staff (here) and for shared links (web.pages).

The zip is written as it is sent: entries use data descriptors (sizes and CRC after the bytes), so
nothing is held but the segment being encrypted-then-decrypted and what zipfile has not yet handed on;
memory stays flat whatever the folder's size. Entries are stored, not deflated: evidence is mostly
video and pictures, already compressed, and storing keeps a 100 GB folder CPU-cheap.
"""

import io
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Annotated

import anyio
from anyio import to_thread
from fastapi import APIRouter, Body, Query
from starlette.responses import StreamingResponse

from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.api.folders import resolve
from strongroom.api.streaming import content_disposition, plaintext_chunks
from strongroom.content import zips
from strongroom.content.zips import ZipPlan
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.uk_time import UK_ZONE

router = APIRouter(tags=["folders"])

FLUSH_BYTES = 1 << 20
ZIP64_FROM = 0x7FFF_FFFF  # entries this large get zip64 sizes from the start
# As a link's single-file download does (web.pages.shared_link): re-read the link's state after this many
# segments or seconds, whichever comes first, so revoking it cuts a running zip within a second or so.
RECHECK_SEGMENTS = 8
RECHECK_SECONDS = 1.0


class ZipCut(Exception):
    """`still_live` said no while the zip was streaming (a shared link revoked or expired)."""


class _Progress:
    """How far a zip got, for the event that records a cut (content.zips.record_cut)."""

    def __init__(self) -> None:
        self.bytes_sent = 0
        self.files_sent = 0
        self.finished = False


class _Pipe(io.RawIOBase):
    """An unseekable file that zipfile writes into and the response drains."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]  # zipfile writes bytes-like objects
        self.parts.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def drain(self) -> list[bytes]:
        out = self.parts  # handed on as they are: joining them would copy every byte once more
        self.parts, self.size = [], 0
        return out


def _stamp(moment: datetime | None) -> tuple[int, int, int, int, int, int]:
    """A zip's DOS time is local time without a zone: UK time, as the pages show."""
    if moment is None or moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    local = moment.astimezone(UK_ZONE) if UK_ZONE is not None else moment
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def zip_bytes(
    runtime: Runtime,
    plan: ZipPlan,
    *,
    still_live: Callable[[int], bool] | None = None,
    progress: _Progress | None = None,
) -> Iterator[list[bytes]]:
    """The zip, in batches of about FLUSH_BYTES (one thread hop each). Runs blocking (decrypting); drive
    it from a thread."""
    pipe = _Pipe()
    progress = progress or _Progress()
    checked, segments = time.monotonic(), 0
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for entry in plan.entries:
            info = zipfile.ZipInfo(entry.name, date_time=_stamp(entry.content.modified_at))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with archive.open(info, mode="w", force_zip64=entry.content.size >= ZIP64_FROM) as out:
                for chunk in plaintext_chunks(runtime, entry.content):
                    out.write(chunk)
                    if pipe.size >= FLUSH_BYTES:
                        yield pipe.drain()
                    segments += 1
                    due = segments >= RECHECK_SEGMENTS or time.monotonic() - checked >= RECHECK_SECONDS
                    if still_live is not None and due:
                        if not still_live(progress.bytes_sent):
                            raise ZipCut(plan.zip_id)
                        checked, segments = time.monotonic(), 0
            progress.files_sent += 1
    yield pipe.drain()
    progress.finished = True


async def _in_thread(
    runtime: Runtime, plan: ZipPlan, batches: Iterator[list[bytes]], progress: _Progress
) -> AsyncIterator[bytes]:
    done: list[bytes] = []
    try:
        while True:
            batch = await to_thread.run_sync(next, batches, done)
            if batch is done:
                return
            for piece in batch:
                yield piece
                progress.bytes_sent += len(piece)
    finally:
        if not progress.finished:
            # Shielded: when the client went away, the disconnect has cancelled this task.
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(_record_cut, runtime, plan, progress)


def _record_cut(runtime: Runtime, plan: ZipPlan, progress: _Progress) -> None:
    with transaction(runtime.sessions) as session:
        zips.record_cut(
            session,
            plan,
            bytes_sent=progress.bytes_sent,
            files_sent=progress.files_sent,
            clock=runtime.clock,
        )


def zip_response(
    runtime: Runtime, plan: ZipPlan, *, still_live: Callable[[int], bool] | None = None
) -> StreamingResponse:
    headers = {
        "Content-Disposition": content_disposition(plan.file_name),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Strongroom-Zip-Files": str(len(plan.entries)),
    }
    if plan.skipped:
        headers["X-Strongroom-Zip-Skipped"] = str(len(plan.skipped))
    progress = _Progress()
    body = _in_thread(
        runtime, plan, zip_bytes(runtime, plan, still_live=still_live, progress=progress), progress
    )
    return StreamingResponse(body, media_type="application/zip", headers=headers)


def _plan(runtime: Runtime, actor: CurrentActor, item_ids: list[str], reason: str | None) -> ZipPlan:
    with transaction(runtime.sessions) as session:
        return zips.plan_zip(
            session,
            actor,
            item_ids=item_ids,
            clock=runtime.clock,
            via="zip",
            max_files=runtime.settings.sharing.max_zip_files,
            reason=reason,
            reason_required_for=runtime.settings.audit.reason_required_for,
        )


@router.get("/folders/{folder_id}/zip", response_class=StreamingResponse)
def folder_zip(
    folder_id: str, actor: CurrentActor, runtime: RuntimeDep, reason: Reason = None
) -> StreamingResponse:
    """The folder and everything below it that you may download, as one zip streamed as it is made.
    Every file in it is recorded as read; files whose virus scan has not passed are left out
    (`X-Strongroom-Zip-Skipped` says how many)."""
    plan = _plan(runtime, actor, [resolve(runtime, actor, folder_id)], reason)
    return zip_response(runtime, plan)


MAX_IN_QUERY = 200


@router.get("/zips", response_class=StreamingResponse)
def selection_zip_link(
    actor: CurrentActor,
    runtime: RuntimeDep,
    item_id: Annotated[list[str], Query(max_length=MAX_IN_QUERY)],
    reason: Reason = None,
) -> StreamingResponse:
    """The same as POST, for a link a browser can follow (`?item_id=a&item_id=b`, at most 200)."""
    plan = _plan(runtime, actor, item_id, reason)
    return zip_response(runtime, plan)


@router.post("/zips", response_class=StreamingResponse)
def selection_zip(
    actor: CurrentActor,
    runtime: RuntimeDep,
    item_ids: Annotated[list[str], Body(embed=True, max_length=zips.MAX_SELECTION)],
    reason: Reason = None,
) -> StreamingResponse:
    """Files and folders chosen together (`{"item_ids": [...]}`), as one zip streamed as it is made."""
    plan = _plan(runtime, actor, item_ids, reason)
    return zip_response(runtime, plan)
