"""Zips of a folder or a selection: which files go in, under which entry names, each read recorded.

Every door that offers a zip (staff REST and web, shared links) plans it here and streams it with
`api.zips`. Planning is the permission check and the audit: each file in the zip is a recorded read of
its original bytes (`content.version.read`, via `zip`), and the zip itself one `content.zip.downloaded`
event, all in the transaction that commits before the first byte leaves.

Entry names are safe to unpack anywhere: never absolute, never `..`, no characters Windows refuses, no
two entries that differ only in case; names in any script are kept (UTF-8 flag).
"""

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item, visible_children
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.content import reads as content_reads
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.content.reads import ContentToSend
from strongroom.db.base import new_id
from strongroom.errors import InputError, NotFound

MAX_SELECTION = 1000
MAX_NAME_BYTES = 240
UNSAFE = set('/\\:*?"<>|')


@dataclass(frozen=True)
class ZipEntry:
    name: str  # the path inside the zip, "/"-separated
    content: ContentToSend


@dataclass
class ZipPlan:
    zip_id: str
    file_name: str  # what the browser saves it as, e.g. "Op KESTREL.zip"
    item: ItemRef  # the folder (or the first item chosen) the zip's events are about
    reader: Actor
    entries: list[ZipEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files not readable yet (virus scan pending, ...)

    @property
    def total_bytes(self) -> int:
        return sum(entry.content.size for entry in self.entries)


def safe_part(name: str) -> str:
    """One path component as it may appear in a zip: no separators, control or reserved characters, never
    `.` or `..`, at most MAX_NAME_BYTES of UTF-8."""
    cleaned = "".join(
        "_" if ch in UNSAFE or unicodedata.category(ch).startswith("C") else ch
        for ch in unicodedata.normalize("NFC", name)
    ).strip(" ")
    cleaned = cleaned.rstrip(".") or "_"  # "..", "." and Windows' trailing dots
    while len(cleaned.encode()) > MAX_NAME_BYTES:
        cleaned = cleaned[:-1]
    return cleaned


class _Names:
    """Entry names unique without regard to case (Windows and macOS unpack case-insensitively)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, parent: str, name: str) -> str:
        part = safe_part(name)
        stem, dot, ext = part.rpartition(".")
        if not stem:
            stem, dot, ext = part, "", ""
        candidate, n = part, 1
        while (f"{parent}{candidate}").casefold() in self.taken:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        path = f"{parent}{candidate}"
        self.taken.add(path.casefold())
        return path


def plan_zip(
    session: Session,
    actor: Actor,
    *,
    item_ids: Sequence[str],
    clock: Clock,
    via: str,
    max_files: int,
    reason: str | None = None,
    reason_required_for: Collection[str] = (),
) -> ZipPlan:
    """The zip of these items (files, and folders with everything below them the actor may download),
    each file's read recorded. Raises NotFound (an item the actor cannot see), InputError (nothing to
    zip, too many files), ReasonRequired."""
    if not item_ids:
        raise InputError("Choose at least one file or folder to download.", field="item_ids")
    if len(item_ids) > MAX_SELECTION:
        raise InputError(f"Choose at most {MAX_SELECTION} items at a time.", field="item_ids")
    tops = [access_item(session, actor, item_id, Action.SEE) for item_id in dict.fromkeys(item_ids)]
    name = tops[0].name if len(tops) == 1 and tops[0].is_folder else "Selected files"
    plan = ZipPlan(zip_id=new_id("zip"), file_name=f"{safe_part(name)}.zip", item=ref(tops[0]), reader=actor)
    names = _Names()
    files: list[tuple[str, Item]] = []
    for top in tops:
        if top.is_folder:
            _walk(
                session,
                actor,
                top,
                names.claim("", top.name) + "/",
                names=names,
                files=files,
                max_files=max_files,
            )
        else:
            files.append((names.claim("", top.name), top))
        if len(files) > max_files:
            raise InputError(
                f"A zip holds at most {max_files} files; download a smaller folder.", field="item_ids"
            )
    for entry_name, file in files:
        try:
            content = content_reads.open_content(
                session,
                actor,
                file_id=file.id,
                clock=clock,
                via=via,
                reason=reason,
                reason_required_for=reason_required_for,
            )
        except NotFound:  # not downloadable (preview-only, scan not passed, no version yet)
            plan.skipped.append(entry_name)
            continue
        plan.entries.append(ZipEntry(name=entry_name, content=content))
    if not plan.entries:
        raise NotFound("file", None)
    details = {
        "zip_id": plan.zip_id,
        "via": via,
        "files": len(plan.entries),
        "bytes": plan.total_bytes,
        "skipped": len(plan.skipped),
        "items": [top.id for top in tops],
    }
    events.record(
        session, actor, AuditAction.ZIP_DOWNLOADED, item=ref(tops[0]), details=details, at=clock.now()
    )
    return plan


def _walk(
    session: Session,
    actor: Actor,
    folder: Item,
    prefix: str,
    *,
    names: _Names,
    files: list[tuple[str, Item]],
    max_files: int,
) -> None:
    """Breadth first below `folder`: only what the actor may see (classification included)."""
    frontier = [(folder, prefix)]
    while frontier and len(files) <= max_files:
        here, path = frontier.pop(0)
        children = session.scalars(
            select(Item)
            .where(Item.parent_id == here.id, Item.trashed_at.is_(None))
            .order_by(Item.sort_group, Item.name_key, Item.id)
            .limit(max_files + 1)
        ).all()
        if len(children) > max_files:  # a cut listing would leave files out unnoticed: refuse instead
            raise InputError(
                f"A zip holds at most {max_files} files; download a smaller folder.", field="item_ids"
            )
        for child in visible_children(session, actor, here, children):
            if child.is_folder:
                frontier.append((child, names.claim(path, child.name) + "/"))
            else:
                files.append((names.claim(path, child.name), child))


def record_cut(session: Session, plan: ZipPlan, *, bytes_sent: int, files_sent: int, clock: Clock) -> None:
    """The zip ended before its last byte (the client went away, or the stream failed): say how far it
    got, so the trail never claims that every file in it left when only some did."""
    details = {
        "zip_id": plan.zip_id,
        "bytes_sent": bytes_sent,
        "files_complete": files_sent,
        "files": len(plan.entries),
        "cut_in": plan.entries[files_sent].name if files_sent < len(plan.entries) else None,
    }
    events.record(
        session, plan.reader, AuditAction.ZIP_INTERRUPTED, item=plan.item, details=details, at=clock.now()
    )


def entry_is_safe(name: str) -> bool:
    """What every entry name satisfies (tests and the streaming door check it)."""
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name and bool(name)
