"""The client's transfers: resumable tus uploads and resumable, verified downloads over httpx.

Kept apart from the commands (cli/client.py) so that the protocol work reads on its own. Every
failure is a ClientError carrying the exit code the command ends with.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final
from urllib.parse import quote

if TYPE_CHECKING:
    import httpx  # imported where used: a server process loads this module and never the client

TUS: Final = {"Tus-Resumable": "1.0.0"}
CHUNK_BYTES: Final = 256 * 1024 * 1024
"""Bytes per tus PATCH. Chunks are streamed from the file (never held in memory), and the server
keeps what arrived when a connection drops, so big chunks lose nothing and keep the per-request
cost (two short transactions and an fsync) small."""
READ_BYTES: Final = 1024 * 1024
REASON_HEADER: Final = "X-Strongroom-Reason"

EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_AUTH: Final = 3
EXIT_NOT_FOUND: Final = 4

Progress = Callable[[int], None]
# Why the server will not send a file yet, in words (its scan_status).
SCAN_HOLDS: Final = {
    "pending": "is waiting for its virus scan: it can be downloaded once the scan has passed.",
    "unavailable": "is waiting for its virus scan (the scanner is down; it is retried).",
    "too_large": "is held: it is too large to scan automatically, and an administrator must release it.",
    "infected": "was found to contain a virus and is withheld.",
    "tampered": "is held: its stored bytes failed their integrity check; an administrator must restore them.",
}


class ClientError(Exception):
    """A failure to report to the user, with the command's exit code."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def check(response: httpx.Response, *, what: str) -> httpx.Response:
    """Raise a ClientError with the server's message for any answer that is not a success."""
    if response.is_success:
        return response
    try:
        body = response.json()
        message = body.get("message") or response.text
    except (ValueError, AttributeError):
        message = response.text.strip() or response.reason_phrase
    code = {401: EXIT_AUTH, 403: EXIT_AUTH, 404: EXIT_NOT_FOUND, 410: EXIT_NOT_FOUND}.get(
        response.status_code, EXIT_FAILURE
    )
    if response.status_code == 401:
        message = f"{message} (run `strongroom login URL` again)"
    raise ClientError(f"{what}: {message} [HTTP {response.status_code}]", exit_code=code)


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(READ_BYTES):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


class ResumeStore:
    """Where each local file's tus upload URL is kept, by path, size, mtime and target folder,
    so that a later `upload` of the same unchanged file continues it. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    @staticmethod
    def key(source: Path, folder_id: str) -> str:
        st = source.stat()
        return f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{folder_id}"

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._load().get(key)

    def put(self, key: str, url: str | None) -> None:
        with self._lock:
            data = self._load()
            if url is None:
                data.pop(key, None)
            else:
                data[key] = url
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1)
            tmp.replace(self._path)


def _slice(stream: BinaryIO, offset: int, length: int, digest: hashlib._Hash) -> Iterator[bytes]:
    """Bytes [offset, offset + length) of the file, read as they are sent (a chunk is never held
    whole) and hashed as they go, so the SHA-256 printed is of the bytes that were sent."""
    stream.seek(offset)
    while length > 0:
        block = stream.read(min(READ_BYTES, length))
        if not block:
            raise ClientError("The file got shorter while it was being uploaded.")
        length -= len(block)
        digest.update(block)
        yield block


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True)
class Uploaded:
    file_id: str | None
    resumed_from: int
    sha256: str  # of the local bytes sent (and of those the server already had, re-read here)


def tus_upload(
    http: httpx.Client,
    source: Path,
    *,
    folder_id: str,
    resume: ResumeStore,
    progress: Progress,
    chunk_bytes: int = CHUNK_BYTES,
) -> Uploaded:
    """Upload `source` into the folder with tus, continuing an earlier upload of the same unchanged file."""
    size = source.stat().st_size
    key = resume.key(source, folder_id)
    url = resume.get(key)
    offset = 0
    if url is not None:
        head = http.head(url, headers=TUS)
        if head.status_code == 200:
            offset = int(head.headers["Upload-Offset"])
        else:
            url = None  # expired, terminated or from another server: start again
    if url is None:
        created = check(
            http.post(
                "/api/v1/uploads",
                headers={
                    **TUS,
                    "Upload-Length": str(size),
                    "Upload-Metadata": f"filename {_b64(source.name)},folder_id {_b64(folder_id)}",
                },
            ),
            what=f"upload {source}",
        )
        url = str(http.base_url.join(created.headers["Location"]))
        resume.put(key, url)
    resumed_from = offset
    progress(offset)
    location = None
    digest = hashlib.sha256()
    with source.open("rb") as stream:
        for _ in _slice(stream, 0, offset, digest):
            pass  # what the server already holds counts in the file's SHA-256 too
        while True:
            length = min(chunk_bytes, size - offset)
            response = check(
                http.patch(
                    url,
                    content=_slice(stream, offset, length, digest),
                    headers={
                        **TUS,
                        "Content-Type": "application/offset+octet-stream",
                        "Content-Length": str(length),
                        "Upload-Offset": str(offset),
                    },
                ),
                what=f"upload {source}",
            )
            new_offset = int(response.headers["Upload-Offset"])
            progress(new_offset - offset)
            offset = new_offset
            location = response.headers.get("Location")
            if offset >= size:
                break
    resume.put(key, None)
    file_id = location.rsplit("/", 1)[-1] if location else None
    return Uploaded(file_id=file_id, resumed_from=resumed_from, sha256=digest.hexdigest())


UNSAFE_LOCALLY = frozenset('/\\:*?"<>|')


def local_name(name: str) -> str:
    """A name from the server as a file name here, never a path: the server allows backslashes and
    colons in names, which Windows reads as folders and drives ("..\\..\\x", "C:x")."""
    cleaned = "".join("_" if ch in UNSAFE_LOCALLY or ord(ch) < 32 else ch for ch in name).strip(" .")
    return cleaned or "download"


def download(
    http: httpx.Client,
    file_id: str,
    target: Path,
    *,
    progress_total: Callable[[int, int], None],
    progress: Progress,
    reason: str | None = None,
) -> str:
    """Download into `target`.part, continuing what is there with Range, then check the SHA-256
    against the server's and move it into place. `reason` is sent for classified material that asks for
    one. Returns the hex SHA-256."""
    info: dict[str, Any] = check(http.get(f"/api/v1/files/{file_id}"), what=f"file {file_id}").json()
    _ensure_ready(info, file_id)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    size = int(info["size"])
    if have > size:
        part.unlink()
        have = 0
    progress_total(size, have)
    headers = {"Range": f"bytes={have}-"} if 0 < have < size else {}
    ranged = bool(headers)
    if reason:
        headers[REASON_HEADER] = quote(reason, safe="")  # headers are Latin-1; the server percent-decodes
    expected = str(info["sha256"])
    if have < size or size == 0:
        with http.stream("GET", f"/api/v1/files/{file_id}/content", headers=headers) as response:
            if response.is_error:
                response.read()  # a refusal is a small JSON body that check() reports
            check(response, what=f"download {file_id}")
            if ranged and response.status_code != 206:
                have = 0  # the server sent it all: start the part file again
            expected = _digest_header(response.headers.get("repr-digest")) or expected
            with part.open("r+b" if have else "wb") as sink:
                sink.seek(have)
                sink.truncate()
                for chunk in response.iter_bytes(READ_BYTES):
                    sink.write(chunk)
                    progress(len(chunk))
                sink.flush()
                os.fsync(sink.fileno())
    actual = sha256_of(part)
    if actual != expected:
        part.unlink()
        raise ClientError(
            f"download {file_id}: SHA-256 {actual} differs from the server's {expected}; "
            "the partial file was removed, run the command again"
        )
    part.replace(target)
    return actual


def _ensure_ready(info: dict[str, Any], file_id: str) -> None:
    """Raise a ClientError in words when the server holds nothing it will send for this file yet."""
    if info.get("type") == "folder":
        raise ClientError(f"{info['name']} is a folder: download its files one by one.", exit_code=EXIT_USAGE)
    if info.get("size") is None or not info.get("sha256"):
        raise ClientError(
            f"{info.get('name', file_id)} has no content yet: its upload has not finished. Try again once"
            " it has (`strongroom ls` shows its size then).",
            exit_code=EXIT_NOT_FOUND,
        )
    held = SCAN_HOLDS.get(str(info.get("scan_status")))
    if held:
        raise ClientError(f"{info.get('name', file_id)} {held}")


def _digest_header(value: str | None) -> str | None:
    for member in (value or "").split(","):
        algorithm, _, encoded = member.strip().partition("=")
        if algorithm.strip().lower() == "sha-256" and encoded.startswith(":") and encoded.endswith(":"):
            return base64.b64decode(encoded[1:-1]).hex()
    return None
