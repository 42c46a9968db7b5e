"""Playbacks: the many Range requests a media player makes for one play are one recorded "played" event.

A player asks for a recording in pieces (`bytes=0-`, then a range at every seek) and drops
connections as a matter of course. Recording each request as a read, and each dropped connection as
a download stopped short, fills the trail with entries nobody can read as what happened. The page
gives each player a playback id (`?playback=`), freshly drawn for every page view; the requests that
carry the same id, from the same actor, for the same version, through the same door, are one playback.

The audit is append-only and hash-chained, so a recorded event is never widened afterwards. Instead:
the first request of a playback records `content.version.played` with the range it asked for; a later
request writes nothing when the playback's recorded ranges already cover its bytes, and records one
more `played` event (same playback id) only for bytes not covered yet. Reports fold the events of one
playback into one line with the ranges covered. Ranges are those the server agreed to send; a player
that stopped early got less, so a playback is shown as "played", never as a copy made.
"""

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.models import AuditEvent, PendingAuditEvent
from strongroom.errors import InputError

_PLAYBACK_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# How many of the actor's recent playback events of one item are read to find the playback's ranges:
# a playback records few events (its first range, then only uncovered bytes), so this is ample.
_RECENT_EVENTS = 200


def new_playback_id() -> str:
    """A fresh id for one player on one page view."""
    return secrets.token_urlsafe(12)


def parse_playback_id(value: str | None) -> str | None:
    """The `playback` query parameter, checked. Raises InputError for one that is not an id we hand out."""
    if value is None or value == "":
        return None
    if not _PLAYBACK_ID.fullmatch(value):
        raise InputError("`playback` is 8 to 64 letters, digits, '-' or '_'.", field="playback")
    return value


@dataclass(frozen=True)
class Play:
    """One request of a playback: what it asked for, and what to record if that is new."""

    playback_id: str
    version_id: str
    via: str
    source: str  # "original" or "preview" (the converted copy browsers can play)
    start: int
    end: int  # inclusive
    size: int
    rendition_id: str | None = None


def _recorded_details(session: Session, actor: Actor, item_id: str) -> list[str]:
    # Chained events, and those committed a moment ago that the sequencer has not chained yet (a
    # player's requests come in parallel): either way the range is on record.
    found: list[str] = []
    for table, order in ((AuditEvent, AuditEvent.seq), (PendingAuditEvent, PendingAuditEvent.id)):
        found += session.scalars(
            select(table.details)
            .where(
                table.item_id == item_id,
                table.action == AuditAction.CONTENT_PLAYED.value,
                table.actor_kind == actor.kind.value,
                table.actor_id == actor.id if actor.id is not None else table.actor_id.is_(None),
            )
            .order_by(order.desc())
            .limit(_RECENT_EVENTS)
        )
    return found


def _recorded_ranges(session: Session, actor: Actor, item_id: str, play: Play) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for raw in _recorded_details(session, actor, item_id):
        details = json.loads(raw)
        same = (
            details.get("playback") == play.playback_id
            and details.get("version_id") == play.version_id
            and details.get("via") == play.via
            and details.get("source") == play.source
        )
        if same and isinstance(details.get("range"), list):
            start, end = details["range"]
            ranges.append((int(start), int(end)))
    return ranges


def covers(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether the union of `ranges` (inclusive) holds every byte from start to end."""
    position = start
    for first, last in sorted(ranges):
        if first > position:
            return False
        position = max(position, last + 1)
        if position > end:
            return True
    return position > end


def record_play(
    session: Session, actor: Actor, item: ItemRef, play: Play, *, reason: str | None, at: datetime
) -> bool:
    """Record this request of a playback unless the playback's recorded ranges already cover it.
    True when an event was written."""
    if covers(_recorded_ranges(session, actor, item.id, play), play.start, play.end):
        return False
    details: dict[str, object] = {
        "version_id": play.version_id,
        "via": play.via,
        "playback": play.playback_id,
        "source": play.source,
        "range": [play.start, play.end],
        "size": play.size,
    }
    if play.rendition_id is not None:
        details["rendition_id"] = play.rendition_id
    events.record(
        session, actor, AuditAction.CONTENT_PLAYED, item=item, details=details, reason=reason, at=at
    )
    return True
