"""What a shared link serves, seen from the visitor's side: the folder listing, and the audit note
written whenever classification keeps an item from a link.

The rule itself lives in `access.policy.can` (a link never reaches an item whose effective label is
above the link's ceiling, `access.labels`); this module only makes what it withholds visible to the
people who audit links, naming the link, without telling the visitor anything more than "not found".
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access import labels
from strongroom.access.loaders import ancestry
from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock, utc
from strongroom.content import folders as content_folders
from strongroom.content.folders import ref
from strongroom.content.models import Folder, Item
from strongroom.sharing.models import SharedLink

MAX_LISTING = 1000
MAX_IDS_IN_EVENT = 100
MAX_FOLDERS_WALKED = 10_000


def _ceiling(link: SharedLink) -> labels.Label:
    return labels.link_ceiling(
        access_level=link.access_level, require_recipient_proof=link.require_recipient_proof
    )


def _record(
    session: Session,
    actor: Actor,
    link: SharedLink,
    item: Item,
    *,
    label: str,
    clock: Clock,
    cause: str = "request",
) -> None:
    details = {
        "link_id": link.id,
        "classification": label,
        "link_allows": _ceiling(link).value,
        "cause": cause,
    }
    events.record(
        session, actor, AuditAction.LINK_ITEM_WITHHELD, item=ref(item), details=details, at=clock.now()
    )


def _live(link: SharedLink, clock: Clock) -> bool:
    if link.revoked_at is not None:
        return False
    return link.expires_at is None or utc(link.expires_at) > clock.now()


def _subtree_folder_ids(session: Session, folder: Item) -> list[str]:
    """The folder and the folders below it (live ones), breadth first, at most MAX_FOLDERS_WALKED."""
    found, frontier = [folder.id], [folder.id]
    while frontier and len(found) < MAX_FOLDERS_WALKED:
        frontier = list(
            session.scalars(
                select(Item.id)
                .where(Item.parent_id.in_(frontier), Item.kind == "folder", Item.trashed_at.is_(None))
                .limit(MAX_FOLDERS_WALKED - len(found))
            )
        )
        found += frontier
    return found


def note_links_now_withholding(
    session: Session, actor: Actor, item: Item, *, cause: str, clock: Clock
) -> int:
    """After `item` was moved, copied or its label raised: record, naming each link, every live link that
    now withholds it (a link above it or on it) or withholds what it leads to (a link below it). Nothing is
    refused here; access is decided at each request. Returns how many links were named."""
    chain = ancestry(session, item)
    pairs = [
        (link, item)
        for link in session.scalars(select(SharedLink).where(SharedLink.item_id.in_([n.id for n in chain])))
    ]
    if item.is_folder:
        folders = _subtree_folder_ids(session, item)
        below = select(SharedLink, Item).join(Item, Item.id == SharedLink.item_id)
        below = below.where(Item.parent_id.in_(folders) | SharedLink.item_id.in_(folders[1:]))
        pairs += [(link, target) for link, target in session.execute(below)]
    named = 0
    for link, target in pairs:
        if not _live(link, clock):
            continue
        label = withheld_label(session, link, target)
        if label is not None:
            _record(session, actor, link, target, label=label, clock=clock, cause=cause)
            named += 1
    return named


def withheld_label(session: Session, link: SharedLink, item: Item) -> str | None:
    """The item's effective label if it lies under the link but above what the link may serve."""
    chain = ancestry(session, item)
    if link.item_id not in {node.id for node in chain}:
        return None
    if any(node.trashed_at is not None for node in chain):
        return None
    label = labels.effective_label(chain)
    if labels.rank(label) <= labels.rank(_ceiling(link)):
        return None
    return label


def note_withheld(
    session: Session, token_hash: str, *, item_id: str | None, origin: Origin, clock: Clock
) -> bool:
    """After a visitor was refused: if classification was why (the item lies under a live link but
    above its ceiling), record it, naming the link. Returns whether it was."""
    link = session.scalar(select(SharedLink).where(SharedLink.token_hash == token_hash))
    if link is None or not _live(link, clock):
        return False
    item = session.get(Item, item_id or link.item_id)
    if item is None:
        return False
    label = withheld_label(session, link, item)
    if label is None:
        return False
    visitor = Actor(kind=ActorKind.LINK, id=link.id, label="link visitor", origin=origin)
    _record(session, visitor, link, item, label=label, clock=clock)
    return True


def list_for_visitor(
    session: Session, link: SharedLink, actor: Actor, folder: Folder, *, clock: Clock
) -> list[content_folders.ListedItem]:
    """The folder's items the link serves (one page of up to 1000); those held back by classification
    are recorded, one event each, naming the link."""
    shown = content_folders.list_items(
        session, actor, folder_id=folder.id, limit=MAX_LISTING, marker=None
    ).items
    visible = {item.id for item in shown}
    children = session.scalars(
        select(Item)
        .where(Item.parent_id == folder.id, Item.trashed_at.is_(None))
        .order_by(Item.sort_group, Item.name_key, Item.id)
        .limit(MAX_LISTING)
    )
    withheld = 0
    for child in children:
        if child.id in visible or withheld >= MAX_IDS_IN_EVENT:
            continue
        label = withheld_label(session, link, child)
        if label is not None:
            _record(session, actor, link, child, label=label, clock=clock)
            withheld += 1
    return shown
