"""Virus scanning with ClamAV's clamd (INSTREAM over TCP or a unix socket).

A version from outside the force starts as `pending` and is never served until this skill marks it
`clean`; `infected` versions are quarantined for good (content.reads refuses them). When clamd is not
configured or not reachable, the version stays `pending` and `scan_state` says why; the job is
retried with backoff by the worker.
"""

import socket
import struct
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.config import ScanSettings
from strongroom.content import renditions
from strongroom.content.folders import ref
from strongroom.content.models import File, FileVersion
from strongroom.db.session import transaction
from strongroom.errors import Unavailable
from strongroom.jobs.queue import JobQueue
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_blobs import read_plaintext

JOB_KIND = "skills.virus_scan"
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str | None


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


def scan_chunks(settings: ScanSettings, chunks: object) -> Verdict:
    """Stream bytes to clamd (INSTREAM) and read its verdict. Raises Unavailable if clamd cannot be used."""
    if not settings.clamd:
        raise Unavailable("No virus scanner is configured (scan.clamd).")
    try:
        with _connect(settings.clamd, settings.timeout_seconds) as sock:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:  # type: ignore[attr-defined]
                for offset in range(0, len(chunk), CHUNK):
                    part = chunk[offset : offset + CHUNK]
                    sock.sendall(struct.pack("!L", len(part)) + part)
            sock.sendall(struct.pack("!L", 0))
            answer = b"".join(iter(lambda: sock.recv(4096), b"")).rstrip(b"\0").decode(errors="replace")
    except OSError as exc:
        raise Unavailable(f"The virus scanner at {settings.clamd} is not reachable: {exc}") from exc
    if answer.endswith(" OK"):
        return Verdict(clean=True, signature=None)
    if answer.endswith(" FOUND"):
        return Verdict(clean=False, signature=answer.removeprefix("stream: ").removesuffix(" FOUND"))
    raise Unavailable(f"The virus scanner could not scan the file: {answer}")


def scan_version(
    sessions: sessionmaker[Session],
    *,
    version_id: str,
    settings: ScanSettings,
    store: BlobStore,
    keys: KeyProvider,
    jobs: JobQueue,
    clock: Clock,
) -> str:
    """Scan a pending version and record the verdict; returns the scan status. Idempotent. The bytes
    stream to clamd between two short transactions, so no database lock is held while it scans.
    Raises Unavailable when clamd cannot be used (the worker retries with backoff)."""
    with transaction(sessions) as session:
        version = session.get(FileVersion, version_id)
        if version is None or version.scan_status != "pending":
            return version.scan_status if version else "missing"
        blob_key, size, aad = version.blob_key, version.size, version.sealed_for_id.encode()
        wrapped = WrappedKey(kek_id=version.kek_id, ciphertext=version.wrapped_dek)
    chunks = read_plaintext(
        store=store, keys=keys, blob_key=blob_key, wrapped_dek=wrapped, aad_id=aad, plaintext_size=size
    )
    verdict = scan_chunks(settings, chunks)
    with transaction(sessions) as session:
        version = session.get_one(FileVersion, version_id)
        if version.scan_status != "pending":
            return version.scan_status
        file = session.get_one(File, version.file_id)
        actor = Actor.system(label="virus scanner")
        if verdict.clean:
            version.scan_status = "clean"
            events.record(
                session,
                actor,
                AuditAction.SCAN_PASSED,
                item=ref(file),
                details={"version_id": version.id},
                at=clock.now(),
            )
            # Only now may a preview be rendered: no tool touches unscanned bytes from outside.
            renditions.enqueue_preview(session, jobs, version)
        else:
            version.scan_status = "infected"
            events.record(
                session,
                actor,
                AuditAction.SCAN_INFECTED,
                item=ref(file),
                details={"version_id": version.id, "signature": verdict.signature},
                at=clock.now(),
            )
        return version.scan_status


def scan_state(settings: ScanSettings, status: str) -> str:
    """A sentence for the UI and API about a version's scan status."""
    if status == "pending":
        missing = requirements(settings)
        return "Waiting for the virus scan" + (f" ({'; '.join(missing)})." if missing else ".")
    return {
        "clean": "Virus scan passed.",
        "infected": "Quarantined: the virus scan found malware. It is never served.",
        "not_required": "Uploaded by a member of the force; no scan needed.",
    }.get(status, status)


def pending_versions(session: Session) -> list[str]:
    return list(session.scalars(select(FileVersion.id).where(FileVersion.scan_status == "pending")))
