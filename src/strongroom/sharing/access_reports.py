"""Access reports: every view, preview, download, failed password and failed code, per link or per item.

Built from the audit trail, so a report shows exactly what the tamper-evident log holds. Link
visitors are recorded as actors of kind "link" with the link's id, labelled with the verified
recipient e-mail, the signed-in user, or "anonymous".
"""

import json
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item
from strongroom.actors import Actor
from strongroom.audit import events, reasons
from strongroom.audit.events import AuditAction
from strongroom.audit.models import AuditEvent
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.sharing.models import SharedLink
from strongroom.sharing.schemas import AccessEntryRead
from strongroom.sharing.shared_links import access_link

ACCESS_ACTIONS = frozenset(
    {
        AuditAction.CONTENT_READ,
        AuditAction.CONTENT_PLAYED,
        AuditAction.PREVIEW_READ,
        AuditAction.LINK_CREATED,
        AuditAction.LINK_CHANGED,
        AuditAction.LINK_REVOKED,
        AuditAction.LINK_OPENED,
        AuditAction.LINK_PASSWORD_ACCEPTED,
        AuditAction.LINK_PASSWORD_FAILED,
        AuditAction.LINK_CODE_SENT,
        AuditAction.LINK_CODE_FAILED,
        AuditAction.LINK_RECIPIENT_VERIFIED,
        AuditAction.LINK_DOWNLOAD_REFUSED,
        AuditAction.LINK_STREAM_CUT,
    }
)
MAX_ENTRIES = 10_000


def _entry(event: AuditEvent) -> AccessEntryRead:
    details = json.loads(event.details)
    link_id = event.actor_id if event.actor_kind == "link" else details.get("link_id")
    return AccessEntryRead(
        seq=event.seq,
        at=event.occurred_at,
        action=event.action,
        who=event.actor_label,
        actor_kind=event.actor_kind,
        link_id=link_id,
        ip=event.ip,
        user_agent=event.user_agent,
        item_id=event.item_id,
        item_name=event.item_name,
        details=details,
    )


def _query(condition: object) -> object:
    return (
        select(AuditEvent)
        .where(condition, AuditEvent.action.in_([a.value for a in ACCESS_ACTIONS]))  # type: ignore[arg-type]
        .order_by(AuditEvent.seq)
        .limit(MAX_ENTRIES)
    )


def _audited(
    session: Session, actor: Actor, item: Item, *, details: dict[str, str], reason: str | None, at: datetime
) -> None:
    """Reading the trail is itself recorded, with its reason. Raises ReasonRequired without one."""
    events.record(
        session,
        actor,
        AuditAction.ACCESS_REPORT_GENERATED,
        item=ref(item),
        details=details,
        reason=reasons.require_audit_reason(reason),
        at=at,
    )


def link_report(
    session: Session, actor: Actor, *, link_id: str, reason: str | None, at: datetime
) -> list[AccessEntryRead]:
    """Everything done through one link, and its creation and revocation. Raises NotFound,
    ReasonRequired (every read of the trail states why, and is recorded)."""
    link, item = access_link(session, actor, link_id)
    _audited(session, actor, item, details={"report": "link", "link_id": link.id}, reason=reason, at=at)
    by_visitors = and_(AuditEvent.actor_kind == "link", AuditEvent.actor_id == link.id)
    owner_side = and_(AuditEvent.item_id == item.id, AuditEvent.actor_kind == "user")
    events = session.scalars(_query(or_(by_visitors, owner_side)))  # type: ignore[call-overload]
    entries = [_entry(e) for e in events]
    return [e for e in entries if e.link_id == link.id]


def item_report(
    session: Session, actor: Actor, *, item_id: str, reason: str | None, at: datetime
) -> list[AccessEntryRead]:
    """Every access to an item: by users and through any of its links (for a folder, also what its links
    opened below it). Raises NotFound, ReasonRequired (recorded like every read of the trail)."""
    item = access_item(session, actor, item_id, Action.SHARE)
    _audited(session, actor, item, details={"report": "item_links"}, reason=reason, at=at)
    link_ids = list(session.scalars(select(SharedLink.id).where(SharedLink.item_id == item.id)))
    condition = AuditEvent.item_id == item.id
    if link_ids:
        condition = or_(condition, and_(AuditEvent.actor_kind == "link", AuditEvent.actor_id.in_(link_ids)))
    return [_entry(e) for e in session.scalars(_query(condition))]  # type: ignore[call-overload]
