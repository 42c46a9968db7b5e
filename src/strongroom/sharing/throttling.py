"""Failure throttles for secrets typed by people (link passwords, one-time codes).

Counted in the database, so every app process behind a load balancer sees the same counts; windows
are fixed and timed by the server's clock. A key is paused once its failures in the window reach
the limit; success does not reset a window (an attacker who knows one password learns nothing).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from strongroom.errors import RateLimited
from strongroom.sharing.models import Throttle


@dataclass(frozen=True)
class Limit:
    key: str
    max_failures: int
    window: timedelta


def _current(session: Session, limit: Limit, now: datetime) -> Throttle | None:
    row = session.get(Throttle, limit.key, with_for_update=True)
    if row is None:
        return None
    if now - row.window_start >= limit.window:
        row.window_start = now
        row.failures = 0
    return row


def ensure_not_throttled(session: Session, limits: list[Limit], *, now: datetime) -> None:
    """Raise RateLimited if any key has used up its failures in the current window."""
    for limit in limits:
        row = _current(session, limit, now)
        if row is not None and row.failures >= limit.max_failures:
            retry = int((row.window_start + limit.window - now).total_seconds()) + 1
            raise RateLimited(
                "Too many wrong attempts. Wait a while before trying again.", retry_after_seconds=retry
            )


def record_failure(session: Session, limits: list[Limit], *, now: datetime) -> None:
    for limit in limits:
        row = _current(session, limit, now)
        if row is None:
            row = Throttle(key=limit.key, window_start=now, failures=0)
            session.add(row)
        row.failures += 1
    session.flush()
