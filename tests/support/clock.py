"""A clock tests can move forward (expiry, retention, lock lapses) without sleeping."""

from datetime import UTC, datetime, timedelta


class AdjustableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta
