"""Reading a file's bytes: the permission check and the audit event that every read of content gets.

The door streams the bytes with `storage.sealed_blobs.read_plaintext` after the transaction that
recorded the read commits: a read that was not recorded never starts.
"""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_file, access_version, effective_label
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.audit.reasons import require_reason
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.models import File, FileVersion
from strongroom.errors import NotFound, RangeNotSatisfiable
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


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=` range per RFC 9110, resolved against `size`. None means the whole file.
    Raises RangeNotSatisfiable (416) for malformed, multiple or out-of-bounds ranges."""
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec or "," in spec:
        raise RangeNotSatisfiable("Only a single byte range such as 'bytes=0-1023' is supported.", size=size)
    first, dash, last = spec.strip().partition("-")
    if (
        not dash
        or not (first.isdigit() or last.isdigit())
        or (first and not first.isdigit())
        or (last and not last.isdigit())
    ):
        raise RangeNotSatisfiable(f"{header!r} is not a valid byte range.", size=size)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable("The range asks for no bytes.", size=size)
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"The range {header!r} lies outside the file's {size} bytes.", size=size)
    return ByteRange(start, min(end, size - 1))


def open_content(
    session: Session,
    actor: Actor,
    *,
    file_id: str,
    version_id: str | None = None,
    range_header: str | None = None,
    clock: Clock,
    via: str = "api",
    reason: str | None = None,
    reason_required_for: Collection[str] = (),
) -> ContentToSend:
    """Authorise and record a read of a file's (or one version's) original bytes. Raises NotFound,
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
    byte_range = parse_range(range_header, version.size)
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
    return ContentToSend(
        file_id=file.id,
        file_name=file.name,
        version_id=version.id,
        size=version.size,
        sha256=version.sha256,
        content_type=version.content_type or "application/octet-stream",
        blob_key=version.blob_key,
        aad_id=version.sealed_for_id.encode(),
        wrapped_dek=WrappedKey(kek_id=version.kek_id, ciphertext=version.wrapped_dek),
        byte_range=byte_range,
    )
