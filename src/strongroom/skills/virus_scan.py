"""Virus scanning with ClamAV's clamd (INSTREAM over TCP or a unix socket).

A version from outside the force starts as `pending` and is served only once this skill marks it
`clean`; `infected` versions are quarantined for good (content.reads refuses them). No file is ever
left waiting without a reason and a next try:

* scanner not configured or not reachable → `unavailable`, with the reason; the scan job schedules
  its own retry with a doubling delay capped at `scan.retry_max_seconds`, for as long as it takes,
  and the hourly sweep re-queues anything whose retry chain was lost;
* larger than clamd's `StreamMaxLength` (`scan.stream_max_bytes`) → `too_large` and held, or, under
  `scan.large_files = "scan_start"`, the first `stream_max_bytes` are scanned and a clean result
  releases the file with a detail saying only that part was scanned (docs/ops/virus-scanning.md);
* stored bytes that fail their integrity check while streaming to clamd → `tampered`, held for good
  with the check's finding, recorded once as a `storage.blob.tampered` incident and not retried:
  trying again reads the same bytes. After an operator restores the blob, `strongroom scan
  --rescan` scans it again;
* the owner is mailed (after commit) when a file is quarantined, held as too large or tampered, or
  first has to wait for the scanner, and when a file that waited is finally released.
"""

import contextlib
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from strongroom import mail as mailer
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.config import MailSettings, ScanSettings
from strongroom.content import renditions, scrub, thumbnails
from strongroom.content.folders import ref
from strongroom.content.models import File, FileVersion
from strongroom.db.session import transaction
from strongroom.errors import Unavailable
from strongroom.identity.models import User
from strongroom.jobs.queue import JobQueue
from strongroom.sharing import upload_rejections
from strongroom.skills import runs
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_blobs import read_plaintext
from strongroom.storage.sealed_stream import CorruptBlob

JOB_KIND = "skills.virus_scan"
CHUNK = 256 * 1024
# States in which a version waits for a scan; `too_large` and `tampered` wait for an operator
# (strongroom scan --rescan).
WAITING = frozenset({"pending", "unavailable"})
RESCANNED = frozenset({"too_large", "tampered", "clean"})
LABELS = {
    "pending": "Waiting for the virus scan",
    "clean": "Virus scan passed",
    "infected": "Quarantined: the virus scan found malware; it is never served",
    "unavailable": "Scanner unavailable: held and retried until the scanner answers",
    "too_large": "Too large to scan: held until an operator scans it",
    "tampered": "Held: its stored bytes failed their integrity check; an administrator must restore them",
    "not_required": "No scan needed: uploaded by a member of the force",
}


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str | None


class TooLargeForScanner(Exception):
    """clamd refused the stream: it is longer than clamd's StreamMaxLength."""


@dataclass(frozen=True)
class ScanMail:
    """Settings the skill needs to tell an owner what happened."""

    settings: MailSettings
    public_url: str


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address)
        return sock
    host, _, port = address.rpartition(":")
    return socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)


def requirements(settings: ScanSettings) -> list[str]:
    """What is missing for scanning to work, in words an operator can act on (empty: ready)."""
    if not settings.clamd:
        hint = "set scan.clamd (STRONGROOM_SCAN__CLAMD) to clamd's host:port or socket"
        return [f"no virus scanner configured: {hint}"]
    try:
        with _connect(settings.clamd, 5) as sock:
            sock.sendall(b"zPING\0")
            if sock.recv(16).rstrip(b"\0") != b"PONG":
                return [f"clamd at {settings.clamd} did not answer PING"]
    except OSError as exc:
        return [f"clamd at {settings.clamd} is not reachable: {exc}"]
    return []


def _send(sock: socket.socket, chunks: Iterable[bytes | memoryview]) -> None:
    sock.sendall(b"zINSTREAM\0")
    for chunk in chunks:
        for offset in range(0, len(chunk), CHUNK):
            part = chunk[offset : offset + CHUNK]
            sock.sendall(struct.pack("!L", len(part)) + part)
    sock.sendall(struct.pack("!L", 0))


def scan_chunks(settings: ScanSettings, chunks: Iterable[bytes | memoryview]) -> Verdict:
    """Stream bytes to clamd (INSTREAM) and read its verdict. Raises Unavailable if clamd cannot be
    used, TooLargeForScanner when clamd refuses the length."""
    if not settings.clamd:
        raise Unavailable("No virus scanner is configured (scan.clamd).")
    try:
        with _connect(settings.clamd, settings.timeout_seconds) as sock:
            # clamd closes early when the stream is too long; its answer says so below.
            with contextlib.suppress(OSError):
                _send(sock, chunks)
            answer = b"".join(iter(lambda: sock.recv(4096), b"")).rstrip(b"\0").decode(errors="replace")
    except OSError as exc:
        raise Unavailable(f"The virus scanner at {settings.clamd} is not reachable: {exc}") from exc
    if answer.endswith(" OK"):
        return Verdict(clean=True, signature=None)
    if answer.endswith(" FOUND"):
        return Verdict(clean=False, signature=answer.removeprefix("stream: ").removesuffix(" FOUND"))
    if "size limit exceeded" in answer:
        raise TooLargeForScanner(answer)
    raise Unavailable(f"The virus scanner could not scan the file: {answer or 'no answer'}")


def _first_bytes(chunks: Iterator[memoryview], limit: int) -> Iterator[memoryview]:
    left = limit
    for chunk in chunks:
        if left <= 0:
            return
        yield chunk[:left]
        left -= len(chunk)


@dataclass(frozen=True)
class _Outcome:
    status: str
    detail: str | None
    signature: str | None = None


def _scan_bytes(
    settings: ScanSettings, *, store: BlobStore, keys: KeyProvider, version: FileVersion
) -> _Outcome:
    limit = settings.stream_max_bytes
    too_large = version.size > limit
    if too_large and settings.large_files == "hold":
        return _Outcome(
            "too_large", f"{version.size} bytes; the scanner takes at most {limit} (hold policy)."
        )
    chunks = read_plaintext(
        store=store,
        keys=keys,
        blob_key=version.blob_key,
        wrapped_dek=WrappedKey(kek_id=version.kek_id, ciphertext=version.wrapped_dek),
        aad_id=version.sealed_for_id.encode(),
        plaintext_size=version.size,
    )
    try:
        verdict = scan_chunks(settings, _first_bytes(chunks, limit) if too_large else chunks)
    except CorruptBlob:
        raise  # the bytes, not the scanner, are at fault: scan_version records it, never retries
    except TooLargeForScanner:
        hint = "set scan.stream_max_bytes to clamd's StreamMaxLength"
        return _Outcome("too_large", f"The scanner refused {version.size} bytes as too long ({hint}).")
    except Unavailable as exc:
        return _Outcome("unavailable", exc.message[:500])
    if not verdict.clean:
        return _Outcome("infected", f"Found {verdict.signature}.", verdict.signature)
    if too_large:
        return _Outcome("clean", f"Only the first {limit} of {version.size} bytes were scanned (scan_start).")
    return _Outcome("clean", None)


def retry_delay(settings: ScanSettings, attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: doubling, capped."""
    seconds = settings.retry_first_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


def scan_version(
    sessions: sessionmaker[Session],
    *,
    version_id: str,
    settings: ScanSettings,
    store: BlobStore,
    keys: KeyProvider,
    jobs: JobQueue,
    clock: Clock,
    mail: ScanMail | None = None,
    rescan: bool = False,
) -> str:
    """Scan a waiting version (with `rescan`: also a held, too-large or clean one) and record the
    outcome; returns the scan status. Idempotent. The bytes stream to clamd between two short
    transactions. A scanner that cannot be used is an outcome, not an error: the version becomes
    `unavailable` and this job schedules its own retry."""
    allowed = WAITING | (RESCANNED if rescan else set())
    with transaction(sessions) as session:
        version = session.get(FileVersion, version_id)
        if version is None or version.scan_status not in allowed:
            return version.scan_status if version else "missing"
        session.expunge(version)
    ids = {"file_id": version.file_id, "version_id": version.id, "blob_key": version.blob_key}
    try:
        with scrub.tampering_recorded(sessions, found_by="virus scanner", clock=clock, ids=ids):
            outcome = _scan_bytes(settings, store=store, keys=keys, version=version)
    except CorruptBlob as exc:
        outcome = _Outcome("tampered", f"Not scanned: {exc.message}"[:500])
    with transaction(sessions) as session:
        current = session.get_one(FileVersion, version_id)
        if current.scan_status not in allowed:
            return current.scan_status  # another worker or the CLI got there first
        _record(session, current, outcome, settings=settings, jobs=jobs, clock=clock, mail=mail)
        return current.scan_status


def _record(
    session: Session,
    version: FileVersion,
    outcome: _Outcome,
    *,
    settings: ScanSettings,
    jobs: JobQueue,
    clock: Clock,
    mail: ScanMail | None,
) -> None:
    before = version.scan_status
    now = clock.now()
    version.scan_status, version.scan_detail, version.scan_checked_at = outcome.status, outcome.detail, now
    file = session.get_one(File, version.file_id)
    if file.current_version_id == version.id:
        file.scan_status = outcome.status
    if outcome.status == "unavailable":
        version.scan_attempts += 1
        jobs.enqueue(
            session, JOB_KIND, {"version_id": version.id}, delay=retry_delay(settings, version.scan_attempts)
        )
        if before == "pending" and mail is not None:
            _tell_owner(session, mail, file, "is waiting for the virus scanner", outcome.detail)
        return
    version.scan_attempts = 0
    action = {
        "clean": AuditAction.SCAN_PASSED,
        "infected": AuditAction.SCAN_INFECTED,
        "too_large": AuditAction.SCAN_HELD,
    }.get(outcome.status)  # `tampered` already has its incident event (scrub.tampering_recorded)
    details: dict[str, object] = {"version_id": version.id, "after": before}
    if outcome.signature:
        details["signature"] = outcome.signature
    if outcome.detail:
        details["detail"] = outcome.detail
    if action is not None:
        events.record(
            session, Actor.system(label="virus scanner"), action, item=ref(file), details=details, at=now
        )
    if outcome.status == "infected" and before != "infected" and mail is not None:
        upload_rejections.tell_sender_of_rejection(
            session, mail.settings, version_id=version.id, why=outcome.detail
        )
    if outcome.status == "clean" and before != "clean":
        # Only now may a preview be rendered: no tool touches unscanned bytes from outside.
        renditions.enqueue_preview(session, jobs, version)
        thumbnails.enqueue_thumbnail(session, jobs, version)
        runs.enqueue_skills(session, jobs, version)
    # The owner hears of changes only: not of a rescan that confirms, nor of a prompt first pass.
    if mail is None or before == outcome.status or (outcome.status == "clean" and before == "pending"):
        return
    what = {
        "clean": "passed the virus scan and can now be opened",
        "infected": "was quarantined: the virus scan found malware",
        "too_large": "is too large for the virus scanner and is held",
        "tampered": "is held: its stored bytes failed their integrity check and could not be scanned",
    }[outcome.status]
    _tell_owner(session, mail, file, what, outcome.detail)


def _tell_owner(session: Session, mail: ScanMail, file: File, what: str, detail: str | None) -> None:
    owner = session.get(User, file.owner_id)
    if owner is None or owner.disabled_at is not None:
        return
    body = f"The file '{file.name}' {what}.\n\n"
    if detail:
        body += f"Detail: {detail}\n\n"
    body += f"File: {mail.public_url}/items/{file.id}\n"
    mailer.queue_mail(
        session, mail.settings, mailer.Mail(to=owner.email, subject=f"Virus scan: {file.name}", body=body)
    )


@dataclass(frozen=True)
class ScanState:
    """A version's scan state as the API and the pages show it."""

    status: str
    label: str
    detail: str | None


def scan_state(version: FileVersion, settings: ScanSettings | None = None) -> ScanState:
    """The state to show. With `settings`, a version not yet tried says what the scanner lacks."""
    detail = version.scan_detail
    if detail is None and settings is not None and version.scan_status == "pending":
        detail = "; ".join(requirements(settings)) or None
    return ScanState(
        status=version.scan_status,
        label=LABELS.get(version.scan_status, version.scan_status),
        detail=detail,
    )


def versions_to_scan(session: Session, *, rescan: bool = False) -> list[str]:
    """Versions `strongroom scan` works on: the waiting ones, and with `rescan` the held and clean ones."""
    states = WAITING | (RESCANNED if rescan else set())
    query = select(FileVersion.id).where(FileVersion.scan_status.in_(states)).order_by(FileVersion.created_at)
    return list(session.scalars(query))


def requeue_stranded(session: Session, *, jobs: JobQueue, settings: ScanSettings, clock: Clock) -> int:
    """Queue a scan for every waiting version not tried for twice the longest retry delay (a lost
    retry chain, a copy of a waiting version). Returns how many were queued."""
    cutoff = clock.now() - timedelta(seconds=2 * settings.retry_max_seconds)
    stale = session.scalars(
        select(FileVersion.id).where(
            FileVersion.scan_status.in_(WAITING),
            or_(
                FileVersion.scan_checked_at < cutoff,
                FileVersion.scan_checked_at.is_(None) & (FileVersion.created_at < cutoff),
            ),
        )
    )
    count = 0
    for version_id in stale:
        jobs.enqueue(session, JOB_KIND, {"version_id": version_id})
        count += 1
    return count
