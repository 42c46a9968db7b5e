"""Bulk import of a share drive or a folder of mail (.eml) into a folder: `strongroom import`.

Every file becomes a file version exactly as an upload makes one (content/uploads: the same checks,
sealing, SHA-256 and audit events), with the folder structure mirrored below the target. A message
(.eml) is kept whole, and its attachments are extracted beside it into "<message> (attachments)".
Each imported file's original modification time, source path and hash are recorded in its own audit
event (content.file.imported), in the journal and in the report, so "when was this written, and where
did it come from" survives the move.

Resumable: a journal (JSON lines, fsynced per file) records what is done; a second run skips every
source whose size and modification time are unchanged, so an import cut by a crash or Ctrl-C carries
on where it stopped. A source that changes while it is read is refused (re-run to take it again).
"""

from __future__ import annotations

import email.policy
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content import folders, uploads
from strongroom.content.folders import ref
from strongroom.content.models import File, Folder
from strongroom.content.names import clean_name
from strongroom.db.session import transaction
from strongroom.errors import InputError, NotFound, StrongroomError
from strongroom.jobs.queue import JobQueue
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider
from strongroom.storage.sealed_blobs import SealedBlobWriter

READ_SIZE: Final = 1 << 20
MAIL_SUFFIX: Final = ".eml"
ATTACHMENTS_SUFFIX: Final = " (attachments)"


@dataclass(frozen=True)
class Source:
    """One thing to store: a file on disk, or an attachment of a message."""

    key: str  # journal key: the relative path, "#<n>" appended for an attachment
    folders: tuple[str, ...]  # below the target folder
    name: str
    size: int
    modified_at: datetime
    read: Callable[[], Iterator[bytes | memoryview]]
    stamp: tuple[int, int]  # (size, mtime_ns) of the file on disk it comes from


@dataclass
class Outcome:
    source: Source
    status: str  # imported | skipped | failed
    stored_as: str = ""
    sha256: str = ""
    file_id: str = ""
    version_id: str = ""
    error: str = ""


@dataclass
class Importer:
    sessions: sessionmaker[Session]
    store: BlobStore
    keys: KeyProvider
    clock: Clock
    jobs: JobQueue | None
    segment_size: int
    actor: Actor
    into_id: str
    journal: Path
    done: dict[str, tuple[int, int]] = field(default_factory=dict)
    _folder_ids: dict[tuple[str, ...], str] = field(default_factory=dict)

    def load_journal(self) -> int:
        """Read what earlier runs finished; return how many entries."""
        if not self.journal.exists():
            return 0
        for line in self.journal.read_text("utf-8").splitlines():
            try:
                entry = json.loads(line)
                self.done[entry["source"]] = (int(entry["size"]), int(entry["mtime_ns"]))
            except (ValueError, KeyError):
                continue  # a line cut by a crash: that file is simply imported again
        return len(self.done)

    def already_done(self, source: Source) -> bool:
        return self.done.get(source.key) == source.stamp

    def run_one(self, source: Source) -> Outcome:
        if self.already_done(source):
            return Outcome(source, "skipped")
        try:
            return self._store(source)
        except (StrongroomError, OSError) as exc:
            message = exc.message if isinstance(exc, StrongroomError) else f"{exc.strerror or exc}"
            return Outcome(source, "failed", error=message)

    def _store(self, source: Source) -> Outcome:
        folder_id = self._folder(source.folders)
        with transaction(self.sessions) as session:
            plan = uploads.prepare_upload(session, self.actor, folder_id=folder_id, name=source.name)
        writer = SealedBlobWriter(
            store=self.store, keys=self.keys, aad_id=plan.version_id.encode(), segment_size=self.segment_size
        )
        try:
            for chunk in source.read():
                writer.write(chunk)
            sealed = writer.finish()
        except BaseException:
            writer.abort()
            raise
        try:
            with transaction(self.sessions) as session:
                file, version = uploads.commit_upload(
                    session, self.actor, plan=plan, sealed=sealed, clock=self.clock,
                    store=self.store, keys=self.keys, jobs=self.jobs,
                )  # fmt: skip
                events.record(
                    session,
                    self.actor,
                    AuditAction.FILE_IMPORTED,
                    item=ref(file),
                    details={
                        "source": source.key,
                        "modified_at": source.modified_at.isoformat(),
                        "size": sealed.size,
                        "sha256": version.sha256,
                        "version_id": version.id,
                    },
                    at=self.clock.now(),
                )
                outcome = Outcome(
                    source, "imported", stored_as="/".join((*source.folders, file.name)),
                    sha256=version.sha256, file_id=file.id, version_id=version.id,
                )  # fmt: skip
        except BaseException:
            self.store.delete(sealed.blob_key)
            raise
        self._remember(source, outcome)
        return outcome

    def _remember(self, source: Source, outcome: Outcome) -> None:
        entry = {
            "source": source.key, "size": source.stamp[0], "mtime_ns": source.stamp[1],
            "sha256": outcome.sha256, "file_id": outcome.file_id, "version_id": outcome.version_id,
        }  # fmt: skip
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.done[source.key] = source.stamp

    def _folder(self, names: tuple[str, ...]) -> str:
        """The folder below the target for `names`, made (and audited) when missing."""
        if not names:
            return self.into_id
        if names in self._folder_ids:
            return self._folder_ids[names]
        parent_id = self._folder(names[:-1])
        with transaction(self.sessions) as session:
            existing = uploads.find_live_child(session, parent_id, clean_name(names[-1]))
            if isinstance(existing, Folder):
                folder_id = existing.id
            elif existing is not None:
                raise InputError(f"{'/'.join(names)} is a file in the target, not a folder.")
            else:
                folder_id = folders.create_folder(
                    session, self.actor, parent_id=parent_id, name=names[-1], clock=self.clock
                ).id
        self._folder_ids[names] = folder_id
        return folder_id

    def record_finished(self, *, source: str, outcomes: list[Outcome], report: str) -> None:
        counts = {
            status: sum(o.status == status for o in outcomes) for status in ("imported", "skipped", "failed")
        }
        with transaction(self.sessions) as session:
            target = session.get(Folder, self.into_id)
            events.record(
                session,
                self.actor,
                AuditAction.IMPORT_FINISHED,
                item=ref(target) if target is not None else None,
                details={
                    "source": source,
                    **counts,
                    "bytes": sum(o.source.size for o in outcomes if o.status == "imported"),
                    "report": report,
                },
                at=self.clock.now(),
            )


def resolve_target(session: Session, actor: Actor, *, root_id: str, path: str, clock: Clock) -> str:
    """The folder id of `path` ("Case 42/Imports") below the user's root, made when missing."""
    folder_id = root_id
    for part in (p for p in path.replace("\\", "/").split("/") if p.strip()):
        child = uploads.find_live_child(session, folder_id, clean_name(part))
        if isinstance(child, File):
            raise InputError(f"{part} in {path} is a file, not a folder.", field="into")
        folder_id = child.id if child is not None else folders.create_folder(
            session, actor, parent_id=folder_id, name=part, clock=clock
        ).id  # fmt: skip
    return folder_id


def walk(root: Path, *, mail_attachments: bool = True) -> Iterator[Source]:
    """Everything under `root` (a directory or one file), in a stable order (by name)."""
    if not root.exists():
        raise NotFound("import source", str(root))
    if root.is_file():
        yield from _sources_of(root, rel=Path(root.name), mail_attachments=mail_attachments)
        return
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_symlink() or not path.is_file():
                continue  # a link could lead out of the share; devices and sockets hold no evidence
            yield from _sources_of(path, rel=path.relative_to(root), mail_attachments=mail_attachments)


def _sources_of(path: Path, *, rel: Path, mail_attachments: bool) -> Iterator[Source]:
    st = path.stat()
    stamp = (st.st_size, st.st_mtime_ns)
    parents = tuple(rel.parent.parts)
    yield Source(
        key=rel.as_posix(), folders=parents, name=path.name, size=st.st_size,
        modified_at=datetime.fromtimestamp(st.st_mtime, UTC),
        read=functools.partial(_read_file, path, stamp, (st.st_dev, st.st_ino)), stamp=stamp,
    )  # fmt: skip
    if mail_attachments and path.suffix.lower() == MAIL_SUFFIX:
        yield from _attachments(path, rel=rel, stamp=stamp)


def _read_file(path: Path, stamp: tuple[int, int], inode: tuple[int, int]) -> Iterator[bytes | memoryview]:
    """The file's bytes, refusing a file that changes while it is read (a share still being written),
    and one that is no longer the file the walk found: others write to a share while it is imported,
    and a file swapped for a link (or a folder for a link) could lead to any file of this server."""
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise InputError(f"{path} changed while it was imported; run the import again to take it.") from exc
    with os.fdopen(fd, "rb", buffering=0) as handle:
        opened = os.fstat(handle.fileno())
        if (opened.st_dev, opened.st_ino) != inode:
            raise InputError(f"{path} changed while it was imported; run the import again to take it.")
        while n := handle.readinto(buffer):
            yield view[:n]  # the writer copies it before the next read
        after = os.fstat(handle.fileno())
    if (after.st_size, after.st_mtime_ns) != stamp:
        raise InputError(f"{path} changed while it was imported; run the import again to take it.")


def _attachments(path: Path, *, rel: Path, stamp: tuple[int, int]) -> Iterator[Source]:
    with path.open("rb") as handle:
        message = BytesParser(policy=email.policy.default).parse(handle)
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage
    try:
        sent = parsedate_to_datetime(str(message["date"])) if message["date"] else None
    except (TypeError, ValueError):
        sent = None
    when = (sent or datetime.fromtimestamp(stamp[1] / 1e9, UTC)).astimezone(UTC)
    folder = (*rel.parent.parts, path.stem + ATTACHMENTS_SUFFIX)
    used: set[str] = set()
    for number, part in enumerate(message.iter_attachments(), start=1):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue  # an attached message/rfc822 is kept inside the .eml itself
        name = _unique(part.get_filename() or f"attachment-{number}", used)
        yield Source(
            key=f"{rel.as_posix()}#{number}", folders=folder, name=name, size=len(payload), modified_at=when,
            read=functools.partial(_once, payload), stamp=stamp,
        )  # fmt: skip


def _once(data: bytes) -> Iterator[bytes | memoryview]:
    yield data


def _unique(name: str, used: set[str]) -> str:
    """A name for an attachment that no earlier one of the message took (names clash case-insensitively)."""
    try:
        clean = clean_name(name.replace("/", "_").replace("\\", "_"))
    except InputError:
        clean = "attachment"
    stem, dot, suffix = clean.rpartition(".")
    if not dot:
        stem, suffix = clean, ""
    candidate, n = clean, 1
    while candidate.casefold() in used:
        n += 1
        candidate = f"{stem} ({n}){dot}{suffix}" if dot else f"{clean} ({n})"
    used.add(candidate.casefold())
    return candidate
