"""Runtime: the engine, blob store, key provider and clock, built once from Settings and passed in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from strongroom.clock import Clock, SystemClock
from strongroom.config import Settings
from strongroom.content.pending_blobs import PendingBlobRecorder
from strongroom.db.session import make_engine, make_session_factory
from strongroom.jobs.queue import DatabaseJobQueue, JobQueue
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.blobs import BlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import KeyProvider


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
        clock = clock or SystemClock()
        local = LocalBlobStore(settings.blob_path)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            jobs=DatabaseJobQueue(sessions, clock),
            blobs=PendingBlobRecorder(local, sessions=sessions, clock=clock),
            keys=FileKeyProvider.open(settings.key_file, create=True),
            clock=clock,
            secret_key=settings.secret_key or _stored_secret(settings.data_dir / "secret_key"),
        )

    def close(self) -> None:
        store = self.blobs.inner if isinstance(self.blobs, PendingBlobRecorder) else self.blobs
        if isinstance(store, LocalBlobStore):
            store.close()  # releases this process's writer hold (tus leases)
        self.engine.dispose()


def _stored_secret(path: Path) -> str:
    """The data dir's generated secret, created 0600 on first start so restarts keep sessions valid."""
    if not path.exists():
        fd = path.open("x", encoding="ascii")
        path.chmod(0o600)
        with fd:
            fd.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()
