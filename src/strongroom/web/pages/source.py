"""The running program's source, offered to everyone who uses it over the network (AGPL-3.0 §13).

Police networks are often offline, so a link to a public repository is not enough: the server hands
out the exact code it runs, from its own installed package, as a gzipped tar.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

import strongroom

router = APIRouter()

PACKAGE_DIR = Path(strongroom.__file__).parent
# The licence sits beside src/ in a checkout; an installed wheel carries it in its metadata instead.
LICENCE_CANDIDATES = (PACKAGE_DIR.parent.parent / "LICENSE",)
SKIPPED_PARTS = frozenset({"__pycache__"})


def source_files() -> Iterator[tuple[Path, str]]:
    """(path on disk, name in the archive) of every file of the running package, in a stable order."""
    for licence in LICENCE_CANDIDATES:
        if licence.is_file():
            yield licence, "strongroom/LICENSE"
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if not path.is_file() or SKIPPED_PARTS.intersection(path.parts) or path.suffix == ".pyc":
            continue
        yield path, f"strongroom/src/strongroom/{path.relative_to(PACKAGE_DIR).as_posix()}"


class _Chunks(io.RawIOBase):
    """A write-only file whose bytes are collected and handed on, so the archive streams."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # RawIOBase takes Buffer
        self.pending.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.pending = b"".join(self.pending), []
        return out


def archive_chunks() -> Iterator[bytes]:
    sink = _Chunks()
    with tarfile.open(fileobj=sink, mode="w|gz") as archive:
        for path, name in source_files():
            archive.add(path, arcname=name, recursive=False)
            yield sink.take()
    yield sink.take()


@router.get("/source", include_in_schema=False)
def download_source() -> StreamingResponse:
    """The source of this server, exactly as it runs (AGPL-3.0-or-later)."""
    return StreamingResponse(
        archive_chunks(),
        media_type="application/gzip",
        headers={"Content-Disposition": 'attachment; filename="strongroom-source.tar.gz"'},
    )
