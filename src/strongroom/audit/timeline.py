"""How far time has got: the one clock that expiry decisions use.

Links, one-time codes, web sessions and tokens expire. If each app process judged expiry by its own
clock, a clock stepped back (an NTP correction, a VM restored from a snapshot, a bad RTC at boot)
would bring an expired link back to life, and two processes with skewed clocks would disagree.

* On PostgreSQL the database's clock decides (`now()`, read once per transaction), so every app
  process agrees and none can revive anything by its own clock.
* On SQLite (one process, the embedded default) the audit trail is the persisted high-water mark:
  event times never decrease along the sequence (see `events`), so "now" is never earlier than the
  last event. Together with the process's monotonic `SystemClock`, a step back freezes time at the
  high-water mark until the real clock catches up, instead of reviving what had expired.

A clock handed in explicitly (tests, replays) is the authority as given: only the real system clock
defers to the database.
"""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.audit.models import AuditEvent, AuditHead
from strongroom.clock import Clock, SystemClock, utc


def last_event_time(session: Session) -> datetime | None:
    """The time of the newest audit event (the high-water mark), or None before the first event."""
    newest = select(AuditEvent.occurred_at).join(AuditHead, AuditHead.seq == AuditEvent.seq)
    at = session.scalar(newest.where(AuditHead.id == 1))
    return utc(at) if at is not None else None


def decision_time(session: Session, clock: Clock) -> datetime:
    """ "Now" for deciding whether something has expired: the database's clock on PostgreSQL, else
    the clock but never earlier than the last audit event."""
    if isinstance(clock, SystemClock) and session.get_bind().dialect.name == "postgresql":
        db_now = session.scalar(select(func.now()))
        if db_now is not None:
            return utc(db_now)
    now = clock.now()
    high_water = last_event_time(session)
    return max(now, high_water) if high_water is not None else now
