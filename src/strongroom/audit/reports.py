"""Questions people ask of the log: search it, who accessed this item, what did this user do, what
went out through this link. Permission to ask is decided by the door (admins; owners for their items;
users for themselves); these functions only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from strongroom.audit.models import AuditEvent

# Verbs that mean someone consulted or received material (DPA 2018 s.62 "consultation" and
# "disclosure"); matched on the last part of the action so other domains' actions count too.
ACCESS_VERBS = (
    "read",
    "played",
    "previewed",
    "downloaded",
    "streamed",
    "opened",
    "viewed",
    "disclosed",
    "shared",
)


@dataclass(frozen=True)
class EventFilter:
    action: str | None = None
    actor_id: str | None = None
    actor_kind: str | None = None
    item_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(where: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.action:
        # "content." or "content.version." selects a whole domain or object; a full name selects one action.
        if where.action.endswith("."):
            conditions.append(AuditEvent.action.startswith(where.action))
        else:
            conditions.append(AuditEvent.action == where.action)
    if where.actor_id:
        conditions.append(AuditEvent.actor_id == where.actor_id)
    if where.actor_kind:
        conditions.append(AuditEvent.actor_kind == where.actor_kind)
    if where.item_id:
        conditions.append(AuditEvent.item_id == where.item_id)
    if where.since:
        conditions.append(AuditEvent.occurred_at >= where.since)
    if where.until:
        conditions.append(AuditEvent.occurred_at < where.until)
    return conditions


def search(
    session: Session,
    where: EventFilter,
    *,
    limit: int,
    after_seq: int | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
) -> list[AuditEvent]:
    """Events matching `where`, oldest first, keyset-paged by seq (pass the last seq seen)."""
    query = select(AuditEvent).where(*_conditions(where), *extra).order_by(AuditEvent.seq).limit(limit)
    if after_seq is not None:
        query = query.where(AuditEvent.seq > after_seq)
    return list(session.execute(query).scalars())


def is_access(action: str) -> bool:
    return action.rsplit(".", 1)[-1] in ACCESS_VERBS


def item_accessors(session: Session, *, item_id: str) -> list[dict[str, Any]]:
    """Who consulted or disclosed an item: one row per actor with a count and first/last time."""
    verbs = [AuditEvent.action.endswith("." + verb) for verb in ACCESS_VERBS]
    rows = session.execute(
        select(
            AuditEvent.actor_kind,
            AuditEvent.actor_id,
            AuditEvent.actor_label,
            func.count(),
            func.min(AuditEvent.occurred_at),
            func.max(AuditEvent.occurred_at),
        )
        .where(AuditEvent.item_id == item_id, or_(*verbs))
        .group_by(AuditEvent.actor_kind, AuditEvent.actor_id, AuditEvent.actor_label)
        .order_by(func.min(AuditEvent.seq))
    ).all()
    return [
        {
            "actor_kind": kind,
            "actor_id": actor_id,
            "actor_label": label,
            "count": count,
            "first": first,
            "last": last,
        }
        for kind, actor_id, label, count, first, last in rows
    ]


def link_events(
    session: Session, *, link_id: str, limit: int, after_seq: int | None = None
) -> list[AuditEvent]:
    """What happened through a shared link or upload request: events it acted in, or that are about it."""
    through = or_(
        and_(AuditEvent.actor_kind.in_(("link", "upload_request")), AuditEvent.actor_id == link_id),
        AuditEvent.item_id == link_id,
        AuditEvent.details.contains(f'"link_id":"{link_id}"'),
    )
    return search(session, EventFilter(), limit=limit, after_seq=after_seq, extra=[through])
