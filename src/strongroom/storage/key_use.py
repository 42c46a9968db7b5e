"""The key-use log: every unwrap of a data key, written to the database in batches.

Unwraps happen on hot paths (every read of a file), so they are counted in memory and a background
thread writes one row per data key per batch (every `interval` seconds, and at shutdown). A process
that dies loses at most one interval of counts; the audit events of the reads themselves are
committed with the reads and are not affected. If the database is down the counts wait in memory
and are written with the next batch.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from strongroom.clock import Clock
from strongroom.db.session import transaction
from strongroom.errors import StrongroomError
from strongroom.storage.key_providers.unwrap_cache import KeyUse
from strongroom.storage.models import KeyUseRecord

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS: Final = 2.0


@dataclass
class _Tally:
    first_at: datetime
    last_at: datetime
    unwraps: int = 0
    cached_uses: int = 0


class KeyUseLog:
    """Counts unwraps per (KEK, data key) and writes them in batches. Thread-safe."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, *, interval: float = DEFAULT_INTERVAL_SECONDS
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._interval = interval
        self._process = f"{socket.gethostname()}:{os.getpid()}"[:64]
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, use: KeyUse) -> None:
        now = self._clock.now()
        key = (use.kek_id, use.context.decode("utf-8", "replace"))
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = _Tally(now, now)
            tally.last_at = now
            if use.cached:
                tally.cached_uses += 1
            else:
                tally.unwraps += 1
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="key-use-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def flush(self) -> int:
        """Write what has been counted; returns the rows written (0 if the database is down)."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        if not tallies:
            return 0
        rows = [
            {
                "first_at": t.first_at,
                "last_at": t.last_at,
                "kek_id": kek_id,
                "blob_key": blob_key,
                "process": self._process,
                "unwraps": t.unwraps,
                "cached_uses": t.cached_uses,
            }
            for (kek_id, blob_key), t in tallies.items()
        ]
        try:
            with transaction(self._sessions) as session:
                session.execute(insert(KeyUseRecord), rows)
        except (SQLAlchemyError, StrongroomError) as exc:
            log.warning("key-use log: %d rows wait for the database (%s)", len(rows), exc)
            with self._lock:
                for key, tally in tallies.items():
                    newer = self._tallies.get(key)
                    if newer is not None:
                        tally.last_at, tally.unwraps = newer.last_at, tally.unwraps + newer.unwraps
                        tally.cached_uses += newer.cached_uses
                    self._tallies[key] = tally
            return 0
        return len(rows)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()


def uses_since(session: Session, since: datetime | None) -> Iterator[KeyUseRecord]:
    """The log's rows, oldest first, from `since` on."""
    query = select(KeyUseRecord).order_by(KeyUseRecord.id)
    if since is not None:
        query = query.where(KeyUseRecord.last_at >= since)
    yield from session.scalars(query)
