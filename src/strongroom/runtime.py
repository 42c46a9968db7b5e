"""Runtime: the engine, blob store, key provider and clock, built once from Settings and passed in."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from strongroom.audit import timeline
from strongroom.clock import Clock, SystemClock
from strongroom.config import Settings
from strongroom.db.session import make_engine, make_session_factory, transaction
from strongroom.errors import StrongroomError
from strongroom.jobs.queue import DatabaseJobQueue, JobQueue
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.blobs import BlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import KeyProvider

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    keys: KeyProvider
    clock: Clock
    secret_key: str
    jobs: JobQueue

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url, pool_size=settings.database.pool_size)
        sessions = make_session_factory(engine)
        if clock is None:
            clock = SystemClock()
            _resume_time(sessions, clock)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            jobs=DatabaseJobQueue(sessions, clock),
            blobs=LocalBlobStore(settings.blob_path),
            keys=FileKeyProvider.open(settings.key_file, create=True),
            clock=clock,
            secret_key=settings.secret_key or _stored_secret(settings.data_dir / "secret_key"),
        )

    def close(self) -> None:
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


def _stored_secret(path: Path) -> str:
    """The data dir's generated secret, created 0600 on first start so restarts keep sessions valid."""
    if not path.exists():
        fd = path.open("x", encoding="ascii")
        path.chmod(0o600)
        with fd:
            fd.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()
