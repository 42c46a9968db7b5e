"""Folders and files named by path, as people name them: `Op KESTREL/CCTV`, `Op KESTREL/CCTV/cam1.mp4`.

A path is read from the signed-in user's root, one name at a time, case-insensitively as the server
compares names. An argument that is an id (`fo_…`, `fi_…`) or `root` is taken as it is, so scripts
that kept ids still work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

from strongroom.cli.client_transfers import EXIT_NOT_FOUND, EXIT_USAGE, ClientError, check

_ID = re.compile(r"(fo|fi)_[0-9a-z]{6,40}")


def is_id(text: str) -> bool:
    return text == "root" or _ID.fullmatch(text) is not None


def items(http: httpx.Client, folder_id: str) -> Iterator[dict[str, Any]]:
    """Every item of a folder, folders first, page after page."""
    marker = None
    while True:
        params = {"limit": 1000, **({"marker": marker} if marker else {})}
        page = check(http.get(f"/api/v1/folders/{folder_id}/items", params=params), what="list folder").json()
        yield from page["items"]
        marker = page.get("next_marker")
        if not marker:
            return


def _names(path: str) -> list[str]:
    names = [name for name in path.strip().split("/") if name]
    if any(name in {".", ".."} for name in names):
        raise ClientError(f"{path}: '.' and '..' are not folder names here", exit_code=EXIT_USAGE)
    return names


def _child(http: httpx.Client, folder_id: str, name: str) -> dict[str, Any] | None:
    wanted = name.casefold()
    return next((item for item in items(http, folder_id) if item["name"].casefold() == wanted), None)


def folder_id(http: httpx.Client, path: str, *, create: bool = False) -> str:
    """The id of the folder at `path` (an id passes through); with `create`, missing folders are made,
    like `mkdir -p`. Raises ClientError (exit 4) for a missing folder or a file in the way."""
    if is_id(path):
        return path
    current, walked = "root", []
    for name in _names(path):
        walked.append(name)
        child = _child(http, current, name)
        if child is None and create:
            made = http.post("/api/v1/folders", json={"name": name, "parent_id": current})
            child = check(made, what=f"create folder {'/'.join(walked)}").json()
        if child is None:
            raise ClientError(f"No folder {'/'.join(walked)!r} in your files.", exit_code=EXIT_NOT_FOUND)
        if child["type"] != "folder":
            raise ClientError(f"{'/'.join(walked)!r} is a file, not a folder.", exit_code=EXIT_USAGE)
        current = child["id"]
    return current


def file_id(http: httpx.Client, path: str) -> str:
    """The id of the file at `path` (an id passes through). Raises ClientError (exit 4) when missing."""
    if is_id(path):
        return path
    *parents, name = _names(path) or [""]
    parent = folder_id(http, "/".join(parents)) if parents else "root"
    child = _child(http, parent, name) if name else None
    if child is None:
        raise ClientError(f"No file {path!r} in your files.", exit_code=EXIT_NOT_FOUND)
    if child["type"] != "file":
        raise ClientError(f"{path!r} is a folder, not a file.", exit_code=EXIT_USAGE)
    found: str = child["id"]
    return found
