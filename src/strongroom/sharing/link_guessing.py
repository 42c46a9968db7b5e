"""Link guessing: tokens that open no link, counted per IP address, throttled and audited in aggregate.

A token is 192 random bits, so a run of wrong tokens from one address is someone guessing (or a
broken client). Each wrong token counts against the address in a fixed window (`[sharing]
throttle_window_seconds`); once `link_guesses_per_ip` are used up, every link lookup from that address
answers 429 until the window ends. The audit trail gets one `sharing.link.guessed` event per address
per window with the count (written when the window is over: by the next lookup from that address or by
the worker's sweep), and one `sharing.link.guessing_throttled` event when the address is paused; never
one event per guess, which would let a guesser flood the trail.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock, utc
from strongroom.config import SharingSettings
from strongroom.errors import RateLimited
from strongroom.sharing.models import Throttle

PREFIX = "guess:ip:"


def _key(origin: Origin) -> str:
    return f"{PREFIX}{origin.ip or 'unknown'}"


def _guesser(ip: str) -> Actor:
    return Actor(kind=ActorKind.ANONYMOUS, id=None, label="anonymous", origin=Origin(ip=ip))


def _close_window(session: Session, row: Throttle, *, window: timedelta, now: datetime) -> None:
    """Record the finished window's count (if any guess was counted) and forget it."""
    ip = row.key.removeprefix(PREFIX)
    start = utc(row.window_start)
    if row.failures:
        events.record(
            session,
            _guesser(ip),
            AuditAction.LINK_GUESSED,
            details={
                "ip": ip,
                "count": row.failures,
                "window_start": start.isoformat(),
                "window_end": (start + window).isoformat(),
            },
            at=now,  # written now, whenever the window ended: audit times never go backwards
        )
    session.delete(row)
    session.flush()


def ensure_not_guessing(session: Session, origin: Origin, *, settings: SharingSettings, clock: Clock) -> None:
    """Raise RateLimited when this address has used up its wrong tokens in the current window."""
    now = clock.now()
    window = timedelta(seconds=settings.throttle_window_seconds)
    row = session.get(Throttle, _key(origin), with_for_update=True)
    if row is None:
        return
    if now - utc(row.window_start) >= window:
        _close_window(session, row, window=window, now=now)
        return
    if row.failures >= settings.link_guesses_per_ip:
        retry = int((utc(row.window_start) + window - now).total_seconds()) + 1
        raise RateLimited(
            "Too many links that do not exist were asked for from your address. Wait before trying again.",
            retry_after_seconds=retry,
        )


def count_guess(session: Session, origin: Origin, *, settings: SharingSettings, clock: Clock) -> None:
    """Count a token that opened no link; the throttle trips (and says so once) at the limit."""
    now = clock.now()
    row = session.get(Throttle, _key(origin), with_for_update=True)
    if row is None:
        row = Throttle(key=_key(origin), window_start=now, failures=0)
        session.add(row)
    row.failures += 1
    session.flush()
    if row.failures == settings.link_guesses_per_ip:
        events.record(
            session,
            _guesser(origin.ip or "unknown"),
            AuditAction.LINK_GUESSING_THROTTLED,
            details={
                "ip": origin.ip or "unknown",
                "count": row.failures,
                "window_start": utc(row.window_start).isoformat(),
            },
            at=now,
        )


def summarise_finished_windows(session: Session, *, settings: SharingSettings, now: datetime) -> int:
    """The worker's sweep: record and forget every address's finished window. Returns how many."""
    window = timedelta(seconds=settings.throttle_window_seconds)
    rows = session.scalars(
        select(Throttle).where(Throttle.key.startswith(PREFIX), Throttle.window_start <= now - window)
    ).all()
    for row in rows:
        _close_window(session, row, window=window, now=now)
    return len(rows)
