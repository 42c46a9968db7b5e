"""What a member of staff has handed out: their shared links and upload requests, with what each is
now (live, expired, used up, revoked), and the changes they make to them afterwards (a later expiry,
another limit, closing a request early). Revoked and expired ones stay listed as such: a record of
what was handed out is worth more than a tidy list."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.actors import Actor, ActorKind
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.models import AuditEvent
from strongroom.clock import Clock
from strongroom.content.models import Item
from strongroom.errors import Gone, InputError, NotFound
from strongroom.sharing.models import SharedLink, UploadRequest
from strongroom.sharing.upload_requests import access_upload_request

MAX_ROWS = 500
MAX_EVENTS = 5000  # a timeline's dots; beyond that a picture says no more than the counts


@dataclass(frozen=True)
class LinkRow:
    link: SharedLink
    item_name: str
    state: str  # live | expired | used_up | revoked


@dataclass(frozen=True)
class RequestRow:
    request: UploadRequest
    folder_name: str
    state: str  # open | expired | used | closed


def link_state(link: SharedLink, now: datetime) -> str:
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at is not None and link.expires_at <= now:
        return "expired"
    if link.download_limit is not None and link.download_count >= link.download_limit:
        return "used_up"
    return "live"


def _request_state(request: UploadRequest, now: datetime) -> str:
    if request.revoked_at is not None:
        return "closed"
    if request.expires_at is not None and request.expires_at <= now:
        return "expired"
    if request.single_use and request.used_at is not None:
        return "used"
    return "open"


def my_links(session: Session, actor: Actor, *, clock: Clock) -> list[LinkRow]:
    """The links this user made, newest first."""
    now = timeline.decision_time(session, clock)
    rows = session.execute(
        select(SharedLink, Item.name)
        .join(Item, Item.id == SharedLink.item_id)
        .where(SharedLink.created_by_id == actor.user_id)
        .order_by(SharedLink.created_at.desc())
        .limit(MAX_ROWS)
    ).all()
    return [LinkRow(link, name, link_state(link, now)) for link, name in rows]


def my_upload_requests(session: Session, actor: Actor, *, clock: Clock) -> list[RequestRow]:
    """The upload requests this user made, newest first."""
    now = timeline.decision_time(session, clock)
    rows = session.execute(
        select(UploadRequest, Item.name)
        .join(Item, Item.id == UploadRequest.folder_id)
        .where(UploadRequest.created_by_id == actor.user_id)
        .order_by(UploadRequest.created_at.desc())
        .limit(MAX_ROWS)
    ).all()
    return [RequestRow(request, name, _request_state(request, now)) for request, name in rows]


def change_upload_request(
    session: Session, actor: Actor, *, request_id: str, expires_at: datetime | None, clock: Clock
) -> UploadRequest:
    """Set when an upload request stops taking files (None: no end). Raises NotFound, Gone (closed),
    InputError (a time in the past)."""
    request = access_upload_request(session, actor, request_id)
    now = clock.now()
    if request.revoked_at is not None:
        raise Gone("This upload request was closed; make a new one.")
    if expires_at is not None and expires_at <= now:
        raise InputError("The new end date is in the past.", field="expires_at")
    request.expires_at = expires_at
    events.record(
        session,
        actor,
        AuditAction.UPLOAD_REQUEST_CHANGED,
        item=ItemRef("upload_request", request.id, request.title),
        details={"expires_at": expires_at.isoformat() if expires_at else None},
        at=now,
    )
    return request


# What a link's visitors did, by lane of its timeline.
LINK_LANES = {
    AuditAction.LINK_OPENED.value: "opened",
    AuditAction.PREVIEW_READ.value: "viewed",
    AuditAction.CONTENT_PLAYED.value: "viewed",
    AuditAction.CONTENT_READ.value: "downloaded",
    AuditAction.LINK_DOWNLOAD_REFUSED.value: "refused",
}


def link_accesses(
    session: Session, actor: Actor, *, link_id: str, clock: Clock
) -> tuple[LinkRow, list[tuple[datetime, str]]]:
    """One of my links and what its visitors did, oldest first: (when, opened | viewed | downloaded |
    refused).
    Only moments and kinds, no visitor's name: the access report, with its reason, says who. Raises
    NotFound (not my link)."""
    link = session.get(SharedLink, link_id)
    if link is None or link.created_by_id != actor.user_id:
        raise NotFound("shared link", link_id)
    rows = session.execute(
        select(AuditEvent.occurred_at, AuditEvent.action)
        .where(AuditEvent.actor_kind == ActorKind.LINK.value, AuditEvent.actor_id == link.id)
        .where(AuditEvent.action.in_(list(LINK_LANES)))
        .order_by(AuditEvent.seq)
        .limit(MAX_EVENTS)
    ).all()
    item_name = session.get_one(Item, link.item_id).name
    row = LinkRow(link, item_name, link_state(link, timeline.decision_time(session, clock)))
    return row, [(moment, LINK_LANES[action]) for moment, action in rows]
