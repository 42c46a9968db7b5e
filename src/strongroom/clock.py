"""The one source of "now": always timezone-aware UTC, replaceable in tests.

Expiry decisions use `audit.timeline.decision_time()`, which defers to the database's clock on
PostgreSQL and never goes back past the audit trail's last event.
"""

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, made monotonic: when the clock steps back, `now()` stays at the latest time
    it has handed out (or been told of with `observe()`) until the real clock catches up. Stored times
    then never go backwards, and nothing that expired comes back to life."""

    def __init__(self) -> None:
        self._latest = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        current = datetime.now(UTC)
        with self._lock:
            self._latest = max(self._latest, current)
            return self._latest

    def observe(self, seen: datetime) -> None:
        """Never hand out a time before `seen` (e.g. the last audit event, read at start-up)."""
        with self._lock:
            self._latest = max(self._latest, utc(seen))


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC, so say so."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
