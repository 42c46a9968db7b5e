"""Shared links, the visitor's side: find a link by its token, judge it live, open it, download through it.

A visitor passes, in order: the access level (signed in? collaborator?), the password, the recipient
proof (`link_proofs`); only then do they act, as an Actor of kind LINK whose rights `access.policy.can`
derives from the link. Expiry is judged by the server's clock; a revoked or expired link answers Gone
and says nothing of its item.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access import labels
from strongroom.access.actions import Action
from strongroom.access.loaders import ancestry
from strongroom.access.policy import can
from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock, utc
from strongroom.config import SharingSettings
from strongroom.content import reads as content_reads
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.errors import Gone, NotAllowed, Unauthenticated
from strongroom.sharing import (
    download_claims,
    link_guessing,
    link_notices,
)
from strongroom.sharing.models import SharedLink
from strongroom.sharing.shared_links import is_recipient, token_digest


class Step(StrEnum):
    """What a visitor must do next before the link opens."""

    SIGN_IN = "sign_in"
    PASSWORD = "password"  # noqa: S105 - the name of a step
    EMAIL = "email"
    READY = "ready"


@dataclass(frozen=True)
class Visit:
    """What a visitor has proved so far (the door keeps it, signed, in a cookie) and who they are."""

    origin: Origin
    password_ok: bool = False
    verified_email: str | None = None
    user: Actor | None = None  # a signed-in member of the force, if any
    visitor_id: str | None = None  # a random id the door keeps in the visit cookie: this browser


def visitor_key(link: SharedLink, visit: Visit) -> str:
    """Who, for counting downloads once per visitor: this browser (its visit cookie), else the signed-in
    user, else the address and browser name. Hashed with the link so it names nobody."""
    who = visit.visitor_id or (visit.user.id if visit.user else None)
    who = who or f"{visit.origin.ip}|{visit.origin.user_agent}"
    return hashlib.sha256(f"{link.id}|{who}".encode()).hexdigest()


def find_link(
    session: Session, token: str, *, origin: Origin, settings: SharingSettings, clock: Clock
) -> SharedLink | None:
    """The link a token opens, live or not; None for a token that opens nothing, which is counted as a
    guess from the visitor's address (so commit before answering NotFound). Raises RateLimited when that
    address has guessed too often."""
    link_guessing.ensure_not_guessing(session, origin, settings=settings, clock=clock)
    link = session.scalar(select(SharedLink).where(SharedLink.token_hash == token_digest(token)))
    if link is None:
        link_guessing.count_guess(session, origin, settings=settings, clock=clock)
    return link


def ensure_live(session: Session, link: SharedLink, *, now: datetime) -> None:
    if link.revoked_at is not None:
        raise Gone("This link has been withdrawn.")
    if link.expires_at is not None and utc(link.expires_at) <= now:
        raise Gone("This link has expired.")
    item = session.get(Item, link.item_id)
    if item is None:
        raise Gone("This link no longer leads anywhere.")
    chain = ancestry(session, item)
    if any(node.trashed_at is not None for node in chain):
        raise Gone("This link no longer leads anywhere.")
    # Its own item classified above what the link may serve (raised, or moved under a higher folder):
    # the link leads nowhere, exactly as if the item were gone.
    if not labels.link_may_serve(
        labels.effective_label(chain),
        access_level=link.access_level,
        require_recipient_proof=link.require_recipient_proof,
    ):
        raise Gone("This link no longer leads anywhere.")


def ensure_live_now(session: Session, link: SharedLink, *, clock: Clock) -> None:
    """`ensure_live` judged by the one clock for decisions (audit.timeline), never a stepped-back one."""
    ensure_live(session, link, now=timeline.decision_time(session, clock))


def link_is_live(session: Session, link_id: str, *, clock: Clock) -> bool:
    """For a running download: is the link still neither revoked nor expired?"""
    link = session.get(SharedLink, link_id)
    if link is None:
        return False
    try:
        ensure_live(session, link, now=timeline.decision_time(session, clock))
    except Gone:
        return False
    return True


def visitor_actor(link: SharedLink, visit: Visit) -> Actor:
    """The Actor a visitor acts as: its rights come from the link; its label is the best name we have."""
    label = visit.verified_email or (visit.user.label if visit.user else "anonymous")
    return Actor(kind=ActorKind.LINK, id=link.id, label=label, origin=visit.origin)


def next_step(session: Session, link: SharedLink, visit: Visit) -> Step:
    """What the visitor must do next. Raises NotAllowed when a signed-in user is not a collaborator."""
    if link.access_level != "anyone" and visit.user is None:
        return Step.SIGN_IN
    if link.access_level == "collaborators":
        assert visit.user is not None
        item = session.get_one(Item, link.item_id)
        if not can(visit.user, Action.PREVIEW, ancestry(session, item)):
            raise NotAllowed("This link is only for people the item is already shared with.")
    if link.password_hash is not None and not visit.password_ok:
        return Step.PASSWORD
    if link.require_recipient_proof and not is_recipient(session, link, visit.verified_email):
        return Step.EMAIL
    return Step.READY


def open_shared_link(session: Session, link: SharedLink, visit: Visit, *, clock: Clock) -> tuple[Item, Step]:
    """A visitor opens the landing page: recorded as a view; it uses no download."""
    step = next_step(session, link, visit)
    item = session.get_one(Item, link.item_id)
    events.record(
        session,
        visitor_actor(link, visit),
        AuditAction.LINK_OPENED,
        item=ref(item),
        details={"link_id": link.id, "step": step.value},
        at=clock.now(),
    )
    if step is Step.READY:
        link_notices.note(
            session, link, what="opened", visitor=visitor_actor(link, visit).label, at=clock.now()
        )
    return item, step


def require_ready(session: Session, link: SharedLink, visit: Visit) -> Actor:
    """The visitor's Actor once every condition of the link is met. Raises Unauthenticated (with `step`)."""
    step = next_step(session, link, visit)
    if step is not Step.READY:
        raise Unauthenticated(
            "Open the link's page first: it asks for what this link needs.", step=step.value
        )
    return visitor_actor(link, visit)


def open_link_download(
    session: Session,
    link: SharedLink,
    visit: Visit,
    *,
    file_id: str,
    range_header: str | None,
    clock: Clock,
    if_range: str | None = None,
    resume_window: timedelta = timedelta(hours=12),
) -> content_reads.ContentToSend | None:
    """Authorise, count and record a download of original bytes through a link. None means the download
    limit is used up (the refusal is recorded: commit, then answer Gone). A request counts once per
    visitor and file: the same visitor's Range requests (seeking, resuming) within `resume_window` ride
    on the download they continue (sharing.download_claims); every one is still recorded as a read.
    Raises NotFound (also for preview-only links), Unauthenticated (steps missing), RangeNotSatisfiable."""
    actor = require_ready(session, link, visit)
    now = clock.now()
    allowed, counted = download_claims.count_once(
        session,
        link,
        target=file_id,
        visitor_key=visitor_key(link, visit),
        ranged=range_header is not None,
        now=now,
        window=resume_window,
    )
    if allowed:
        content = content_reads.open_content(
            session,
            actor,
            file_id=file_id,
            range_header=range_header,
            if_range=if_range,
            clock=clock,
            via="link",
        )
        if counted:
            link_notices.note(
                session, link, what=f"downloaded {content.file_name}", visitor=actor.label, at=now
            )
        return content
    item = session.get_one(Item, link.item_id)
    events.record(
        session,
        actor,
        AuditAction.LINK_DOWNLOAD_REFUSED,
        item=ref(item),
        details={"link_id": link.id, "file_id": file_id, "reason": "download limit reached"},
        at=now,
    )
    return None


def record_stream_cut(session: Session, link_id: str, *, file_id: str, sent: int, clock: Clock) -> None:
    """A running download stopped because its link was revoked or expired meanwhile."""
    link = session.get_one(SharedLink, link_id)
    item = session.get_one(Item, link.item_id)
    actor = Actor(kind=ActorKind.LINK, id=link.id, label="link")
    events.record(
        session,
        actor,
        AuditAction.LINK_STREAM_CUT,
        item=ref(item),
        details={"link_id": link.id, "file_id": file_id, "bytes_sent": sent},
        at=clock.now(),
    )
