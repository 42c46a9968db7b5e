"""Runtime: the engine, blob store, key provider, audit signing key and clock, built once from Settings."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from strongroom.audit import timeline
from strongroom.clock import Clock, SystemClock
from strongroom.config import Settings
from strongroom.content.pending_blobs import PendingBlobRecorder
from strongroom.db.session import make_engine, make_session_factory, transaction
from strongroom.errors import StrongroomError
from strongroom.jobs.queue import DatabaseJobQueue, JobQueue
from strongroom.search import templates as _search_templates  # noqa: F401 - keeps the search index and copied metadata in step, every door
from strongroom.skills import search_words as _skill_search_words  # noqa: F401 - search finds only the current version's skill words, every door
from strongroom.storage.blob_backends.by_url import configured_blob_store
from strongroom.storage.blobs import BlobStore
from strongroom.storage.key_providers import signing_file
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.key_providers.opening import open_key_provider
from strongroom.storage.key_providers.unwrap_cache import UnwrapCache
from strongroom.storage.key_use import KeyUseLog
from strongroom.storage.keys import KeyProvider
from strongroom.storage.signing_keys import AuditSigningKey

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    keys: KeyProvider
    audit_key: AuditSigningKey
    clock: Clock
    secret_key: str
    jobs: JobQueue
    key_uses: KeyUseLog

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url, pool_size=settings.database.pool_size)
        sessions = make_session_factory(engine)
        if clock is None:
            clock = SystemClock()
            _resume_time(sessions, clock)
        provider = open_key_provider(settings, create=True)
        key_uses = KeyUseLog(sessions, clock)
        keys = UnwrapCache(provider, seconds=settings.keys.unwrap_cache_seconds, on_unwrap=key_uses.record)
        audit_key = (
            signing_file.open_beside(provider, settings.signing_key_file)
            if isinstance(provider, FileKeyProvider)
            else signing_file.FileAuditSigningKey.open(settings.signing_key_file)
        )
        local = configured_blob_store(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            jobs=DatabaseJobQueue(sessions, clock),
            blobs=PendingBlobRecorder(local, sessions=sessions, clock=clock),
            keys=keys,
            key_uses=key_uses,
            audit_key=audit_key,
            clock=clock,
            secret_key=settings.secret_key or stored_secret(settings.data_dir / "secret_key"),
        )

    def issue_disposal_certificates(self) -> int:
        """Sign the certificates of purges whose audit events are in the log (after their commit)."""
        from strongroom.audit.witness import origin_of
        from strongroom.content import disposals

        signer = disposals.Signer(self.audit_key.sign, self.audit_key.public_key(), origin_of(self.settings))
        with transaction(self.sessions) as session:
            return disposals.issue_certificates(session, signer)

    def close(self) -> None:
        store = self.blobs.inner if isinstance(self.blobs, PendingBlobRecorder) else self.blobs
        close = getattr(store, "close", None)
        if close is not None:
            close()  # the local folder releases this process's writer hold (tus leases)
        self.key_uses.close()
        inner = self.keys.inner if isinstance(self.keys, UnwrapCache) else self.keys
        close_keys = getattr(inner, "close", None)
        if close_keys is not None:
            close_keys()  # an HSM session
        self.engine.dispose()


def _resume_time(sessions: sessionmaker[Session], clock: SystemClock) -> None:
    """Start no earlier than the audit trail's last event, so a clock that went back while the server
    was stopped cannot revive what had expired. Skipped when there is no trail yet (before `init`, a
    database still down): decisions read the mark from the database anyway (audit.timeline)."""
    try:
        with transaction(sessions) as session:
            seen = timeline.last_event_time(session)
    except (StrongroomError, SQLAlchemyError) as exc:
        log.info("no audit high-water mark to start the clock from: %s", exc)
        return
    if seen is not None:
        clock.observe(seen)


def stored_secret(path: Path) -> str:
    """The data dir's generated secret, made 0600 on first start so restarts keep sessions valid.

    Written whole to a temp file and linked into place (link fails if the name exists), so two
    processes starting together agree on one secret and never read a half-written one.
    """
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()
