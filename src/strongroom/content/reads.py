"""Reading a file's bytes: the permission check and the audit event that every read of content gets.

The door streams the bytes with `storage.sealed_blobs.read_plaintext` after the transaction that
recorded the read commits: a read that was not recorded never starts.
"""

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime

from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_file, access_version, effective_label
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.audit.reasons import require_reason
from strongroom.clock import Clock
from strongroom.content import media_types, playbacks
from strongroom.content.folders import ref
from strongroom.content.models import File, FileVersion
from strongroom.errors import NotFound, RangeNotSatisfiable
from strongroom.numbers import parse_count
from strongroom.storage.keys import WrappedKey

# Bytes from outside the force are served only once a virus scan passed; infected ones never.
READABLE_SCAN_STATES = frozenset({"not_required", "clean"})


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class ContentToSend:
    """Everything a door needs to stream one version's bytes, detached from the session."""

    file_id: str
    file_name: str
    version_id: str
    size: int
    sha256: str
    content_type: str
    blob_key: str
    aad_id: bytes
    wrapped_dek: WrappedKey
    byte_range: ByteRange | None
    modified_at: datetime | None = None  # Last-Modified of these bytes (when the version was stored)
    reader: Actor | None = None  # set for reads of original bytes: who to name if the read is cut short
    via: str = "api"
    not_modified: bool = False  # the client holds these very bytes (If-None-Match): answer 304, send none


def version_content(
    file: File,
    version: FileVersion,
    *,
    byte_range: ByteRange | None,
    reader: Actor | None = None,
    via: str = "api",
) -> ContentToSend:
    """What a door needs to stream `version`'s original bytes (already authorised and recorded)."""
    return ContentToSend(
        file_id=file.id,
        file_name=file.name,
        version_id=version.id,
        size=version.size,
        sha256=version.sha256,
        # Only inert types leave the server; anything else goes as an octet-stream attachment.
        content_type=media_types.served_type(version.content_type),
        blob_key=version.blob_key,
        aad_id=version.sealed_for_id.encode(),
        wrapped_dek=WrappedKey(kek_id=version.kek_id, ciphertext=version.wrapped_dek),
        byte_range=byte_range,
        modified_at=version.created_at,
        reader=reader,
        via=via,
    )


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=` range per RFC 9110, resolved against `size`. None means the whole file.
    Raises RangeNotSatisfiable (416) for malformed, multiple or out-of-bounds ranges."""
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec or "," in spec:
        raise RangeNotSatisfiable("Only a single byte range such as 'bytes=0-1023' is supported.", size=size)
    first, dash, last = spec.strip().partition("-")
    start, end = parse_count(first), parse_count(last)
    if not dash or (start is None and end is None) or (first and start is None) or (last and end is None):
        raise RangeNotSatisfiable(f"{header!r} is not a valid byte range.", size=size)
    if start is None:
        assert end is not None
        if end == 0 or size == 0:
            raise RangeNotSatisfiable("The range asks for no bytes.", size=size)
        return ByteRange(max(size - end, 0), size - 1)
    end = size - 1 if end is None else end
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"The range {header!r} lies outside the file's {size} bytes.", size=size)
    return ByteRange(start, min(end, size - 1))


def range_applies(if_range: str | None, *, tags: Collection[str], dates: Collection[datetime]) -> bool:
    """RFC 9110 §13.1.5: a Range is served only while `If-Range` (an entity tag, compared strongly, or
    an HTTP-date, compared exactly) still names these bytes; otherwise the whole representation is."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return value in tags
    if value.startswith("W/"):
        return False  # a weak tag never passes a strong comparison
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False  # not a validator we can evaluate: sending everything is always correct
    return when.tzinfo is not None and any(when == date.replace(microsecond=0) for date in dates)


def open_content(
    session: Session,
    actor: Actor,
    *,
    file_id: str,
    version_id: str | None = None,
    range_header: str | None = None,
    if_range: str | None = None,
    clock: Clock,
    via: str = "api",
    reason: str | None = None,
    reason_required_for: Collection[str] = (),
    playback: str | None = None,
    if_none_match: str | None = None,
) -> ContentToSend:
    """Authorise and record a read of a file's (or one version's) original bytes. The Range is served
    only if `if_range` (when given) still holds. With a `playback` id the request is part of one play in
    a media player and is recorded as such (content.playbacks). When `if_none_match` names these bytes
    (and no range is asked for) nothing is recorded: the answer is `not_modified`. Raises NotFound,
    RangeNotSatisfiable."""
    if version_id is None:
        file = access_file(session, actor, file_id, Action.DOWNLOAD)
        if file.current_version_id is None:
            raise NotFound("version", None)
        version = session.get(FileVersion, file.current_version_id)
    else:
        version = access_version(session, actor, file_id, version_id, Action.DOWNLOAD)
        file = session.get_one(File, file_id)
    if version is None:
        raise NotFound("file", file_id)
    if version.scan_status not in READABLE_SCAN_STATES:
        raise NotFound("version", version.id)
    require_reason(
        classification=effective_label(session, file), reason=reason, required_for=reason_required_for
    )
    tags, dates = {f'"{version.sha256}"'}, [version.created_at]
    if version.id == file.current_version_id:
        tags.add(file.etag)  # the WebDAV door's ETag and Last-Modified name the current bytes too
        dates.append(file.updated_at)
    applies = range_applies(if_range, tags=tags, dates=dates)
    byte_range = parse_range(range_header, version.size) if applies else None
    if byte_range is None and if_none_match is not None and if_none_match.strip() == f'"{version.sha256}"':
        # Authorised as a read, but no byte leaves: the trail records what was sent, and a 304 sends nothing.
        return replace(version_content(file, version, byte_range=None, via=via), not_modified=True)
    if playback is not None:
        start, end = (byte_range.start, byte_range.end) if byte_range else (0, max(version.size - 1, 0))
        play = playbacks.Play(playback, version.id, via, "original", start, end, version.size)
        playbacks.record_play(session, actor, ref(file), play, reason=reason, at=clock.now())
    else:
        details: dict[str, object] = {"version_id": version.id, "via": via, "sha256": version.sha256}
        if byte_range is not None:
            details["range"] = [byte_range.start, byte_range.end]
        events.record(
            session,
            actor,
            AuditAction.CONTENT_READ,
            item=ref(file),
            details=details,
            reason=reason,
            at=clock.now(),
        )
    return version_content(
        file,
        version,
        byte_range=byte_range,
        # A player drops connections at every seek: a playback's cut streams are not downloads cut short.
        reader=None if playback is not None else actor,
        via=via,
    )


def record_interrupted_read(
    session: Session, content: ContentToSend, *, bytes_sent: int, clock: Clock
) -> None:
    """The read recorded by `open_content` ended before all its bytes were sent (the client went away,
    or the stream failed): a second event says how far it got, so the trail never claims a whole copy
    left when only part of it did. `bytes_sent` counts bytes handed to the connection."""
    expected = content.byte_range.length if content.byte_range else content.size
    # Every byte was handed over: a client that hangs up after the last one (before the response's end is
    # written, or while the server looks for more) took a whole copy, which the read event already says.
    if content.reader is None or bytes_sent >= expected:
        return
    file = session.get_one(File, content.file_id)
    details: dict[str, object] = {
        "version_id": content.version_id,
        "via": content.via,
        "bytes_sent": bytes_sent,
        "bytes_expected": expected,
        "interrupted": True,
    }
    if content.byte_range is not None:
        details["range"] = [content.byte_range.start, content.byte_range.end]
    events.record(
        session,
        content.reader,
        AuditAction.CONTENT_READ_INTERRUPTED,
        item=ref(file),
        details=details,
        at=clock.now(),
    )
