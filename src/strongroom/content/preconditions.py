"""Conditional writes (RFC 9110 §13): `If-Match` and `If-None-Match` on a PUT that replaces a file.

A client that read a file and writes it back sends `If-Match: <etag>` so that a change someone made
in between is refused (412) instead of silently overwritten; `If-None-Match: *` means "create only".
A file answers to two ETags, and either may be presented: the item's (`"<id>.<revision>"`, served by
WebDAV and by `GET /files/{id}`) and its content's (`"<sha256>"`, served with the bytes).

The door parses the header fields; the upload service checks the condition twice: before any byte is
read (a refused write costs nothing) and again, with the file's row locked, in the transaction that
records the new version (the file may have changed while the bytes streamed).
"""

import re
from dataclasses import dataclass
from typing import Final

from strongroom.content.models import Item
from strongroom.errors import InputError, ItemExists, VersionChanged

ANY: Final = "*"
MAX_FIELD: Final = 4096
_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def parse_entity_tags(value: str | None, *, field: str) -> tuple[str, ...] | None:
    """A conditional header's value: None when absent, ("*",) for any, else its entity tags (a weak
    tag keeps its `W/`). Raises InputError for anything else."""
    if value is None:
        return None
    text = value.strip()
    if text == ANY:
        return (ANY,)
    tags: list[str] = []
    position = 0
    while position < len(text) and len(text) <= MAX_FIELD:
        found = _ENTITY_TAG.match(text, position)
        if found is None or found.end() == position:
            break
        tags.append((found.group(1) or "") + found.group(2))
        position = found.end()
    if not tags or position != len(text):
        raise InputError(f'{field} must be "*" or a list of quoted entity tags.', field=field)
    return tuple(tags)


def current_tags(item: Item) -> set[str]:
    """The strong ETags the item answers to now: its metadata ETag and, for a file, its content's."""
    tags = {item.etag}
    if item.sha256:
        tags.add(f'"{item.sha256}"')
    return tags


@dataclass(frozen=True)
class WritePrecondition:
    """What must hold of the file a PUT would replace; None fields were not sent."""

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None

    @property
    def is_empty(self) -> bool:
        return self.if_match is None and self.if_none_match is None

    def check(self, existing: Item | None) -> None:
        """Raises VersionChanged (If-Match failed) or ItemExists (If-None-Match failed); both are 412."""
        if self.if_match is not None:
            # Strong comparison: a weak tag never matches (RFC 9110 §13.1.1).
            if existing is None:
                raise VersionChanged("There is no file here to replace; If-Match cannot hold.", etag=None)
            if ANY not in self.if_match and not current_tags(existing) & set(self.if_match):
                raise VersionChanged(
                    "The file changed since you read it; reload it and try again.", etag=existing.etag
                )
        if self.if_none_match is not None and existing is not None:
            # Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
            presented = {tag.removeprefix("W/") for tag in self.if_none_match}
            if ANY in presented or current_tags(existing) & presented:
                raise ItemExists(
                    "A file with that name already exists and If-None-Match forbids replacing it.",
                    etag=existing.etag,
                )
