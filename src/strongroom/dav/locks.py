"""The locking half of the WebDAV door: the If header (RFC 4918 §10.4), Timeout, and the check that a
write presents the token of every lock in its way. The lock rules themselves live in
`content.dav_locks`.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from strongroom.access.loaders import ancestry
from strongroom.actors import Actor
from strongroom.content import dav_locks
from strongroom.content.dav_locks import DavLock
from strongroom.content.models import Item
from strongroom.dav import xml
from strongroom.dav.resources import (
    Located,
    OutsideMount,
    destination_segments,
    etag,
    href,
    locate,
    segments_of,
)
from strongroom.errors import InputError, NotFound, VersionChanged
from strongroom.numbers import parse_count

NO_LOCK = "DAV:no-lock"


@dataclass(frozen=True)
class Condition:
    negated: bool
    token: str | None = None
    etag: str | None = None


@dataclass
class IfList:
    resource: str | None  # a tagged list's URI; None applies to the request URI
    conditions: list[Condition] = field(default_factory=list)


def parse_if(header: str | None) -> list[IfList]:  # noqa: C901, PLR0912 - one flat tokenizer reads best
    """The lists of an If header, in order. Raises InputError for a malformed header."""
    if not header:
        return []
    lists: list[IfList] = []
    resource: str | None = None
    current: IfList | None = None
    negated = False
    i, n = 0, len(header)
    while i < n:
        char = header[i]
        if char.isspace():
            i += 1
        elif char == "<":
            end = header.find(">", i)
            if end < 0:
                raise InputError("The If header has an unterminated '<'.")
            value = header[i + 1 : end]
            if current is None:
                resource = value
            else:
                current.conditions.append(Condition(negated=negated, token=value))
                negated = False
            i = end + 1
        elif char == "[":
            end = header.find("]", i)
            if end < 0 or current is None:
                raise InputError("The If header has a misplaced entity tag.")
            current.conditions.append(Condition(negated=negated, etag=header[i + 1 : end]))
            negated = False
            i = end + 1
        elif char == "(":
            if current is not None:
                raise InputError("The If header nests lists.")
            current = IfList(resource=resource)
            i += 1
        elif char == ")":
            if current is None or not current.conditions:
                raise InputError("The If header has an empty or unopened list.")
            lists.append(current)
            current = None
            i += 1
        elif header[i : i + 3].lower() == "not" and current is not None:
            negated = True
            i += 3
        else:
            raise InputError("The If header is malformed.")
    if current is not None:
        raise InputError("The If header has an unterminated list.")
    return lists


def submitted_tokens(lists: list[IfList]) -> set[str]:
    """Lock tokens the client presents: every state token it names without Not."""
    return {
        c.token for lst in lists for c in lst.conditions if c.token and not c.negated and c.token != NO_LOCK
    }


def parse_timeout(header: str | None) -> timedelta | None:
    """The first usable value of `Timeout: Second-3600, Infinite`; None for the server's default."""
    if not header:
        return None
    for part in header.split(","):
        value = part.strip()
        if value.lower() == "infinite":
            return dav_locks.MAX_TIMEOUT
        seconds = parse_count(value[7:]) if value.lower().startswith("second-") else None
        if seconds is not None:
            return timedelta(seconds=min(seconds, int(dav_locks.MAX_TIMEOUT.total_seconds())))
    return None


@dataclass
class Preconditions:
    """The request's If header, evaluated against the tree inside the request's transaction."""

    lists: list[IfList]
    mount: str

    @property
    def tokens(self) -> set[str]:
        return submitted_tokens(self.lists)

    def check(self, session: Session, actor: Actor, located: Located, *, now: datetime) -> None:
        """Raise VersionChanged (412) unless some list of the header holds. No header always holds."""
        if not self.lists:
            return
        for lst in self.lists:
            chain = self._chain_for(session, actor, lst.resource, located)
            if all(self._holds(session, condition, chain, now=now) for condition in lst.conditions):
                return
        raise VersionChanged("The If header's conditions do not hold for this resource.")

    def _chain_for(
        self, session: Session, actor: Actor, resource: str | None, located: Located
    ) -> list[Item] | None:
        if resource is None:
            return located.chain if located.item is not None else None
        try:
            target = locate(session, actor, destination_segments(resource, mount=self.mount))
        except (OutsideMount, NotFound, InputError):
            return None
        return target.chain if target.item is not None else None

    @staticmethod
    def _holds(session: Session, condition: Condition, chain: list[Item] | None, *, now: datetime) -> bool:
        if condition.token is not None:
            matched = chain is not None and any(
                lock.token == condition.token
                for lock in dav_locks.locks_covering(session, ancestry(session, chain[-1]), now=now)
            )
        else:
            matched = chain is not None and _same_etag(condition.etag or "", etag(chain[-1]))
        return matched != condition.negated


def _same_etag(sent: str, current: str) -> bool:
    return sent.strip().removeprefix("W/") == current


def guard_item(
    session: Session,
    actor: Actor,
    pre: Preconditions,
    chain: list[Item],
    *,
    now: datetime,
    subtree: bool = False,
) -> None:
    """A write to the item at the end of `chain` (and, for deletes and moves, to everything below it)."""
    locks = dav_locks.locks_covering(session, ancestry(session, chain[-1]), now=now)
    if subtree:
        locks += dav_locks.locks_below(session, chain[-1], now=now)
    dav_locks.ensure_may_write(locks, actor, submitted=pre.tokens)


def guard_membership(
    session: Session, actor: Actor, pre: Preconditions, folder_chain: list[Item], *, now: datetime
) -> None:
    """Adding or removing a child of the folder at the end of `folder_chain`."""
    locks = dav_locks.membership_locks(session, ancestry(session, folder_chain[-1]), now=now)
    dav_locks.ensure_may_write(locks, actor, submitted=pre.tokens)


def active_locks(
    session: Session, mount: str, locks: list[DavLock], *, now: datetime
) -> list[xml.ActiveLock]:
    """Locks as lockdiscovery shows them, each with the URL of the item it sits on and its time left."""
    shown = []
    for lock in locks:
        holder = session.get(Item, lock.item_id)
        if holder is None:
            continue
        shown.append(
            xml.ActiveLock(
                token=lock.token,
                scope=lock.scope,
                depth=lock.depth,
                owner_xml=lock.owner_xml,
                timeout_seconds=max(int((lock.expires_at - now).total_seconds()), 0),
                root_href=href(mount, segments_of(session, holder), folder=holder.is_folder),
            )
        )
    return shown
