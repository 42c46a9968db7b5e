"""Audit activity over time: how many events the trail gained each day, for the admin's picture of
what the system is doing (a quiet week, a busy disclosure day, a night of failed sign-ins)."""

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.audit.models import AuditEvent


def events_per_day(session: Session, *, since: datetime, action_prefix: str = "") -> dict[date, int]:
    """Events recorded per UTC day from `since` on, optionally only actions starting with a prefix
    (`sharing.` for sharing, `identity.session.` for sign-ins). Grouped in the database."""
    day = func.date(AuditEvent.occurred_at)
    query = select(day, func.count()).where(AuditEvent.occurred_at >= since).group_by(day)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    counts: dict[date, int] = {}
    for value, count in session.execute(query):
        # SQLite answers a 'YYYY-MM-DD' string, PostgreSQL a date.
        counts[value if isinstance(value, date) else date.fromisoformat(str(value))] = int(count)
    return counts
