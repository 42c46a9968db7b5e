"""A shared link's zip: a folder below the link, or a selection of items below it, as one download.

The zip counts once against the link's download limit, whatever it holds; each file in it is recorded
as read through the link. What the link may not serve (classification above its ceiling, anything
outside its folder) is never in it: `content.zips` asks `access.policy.can` for every item, as the
link's own actor, and the withheld ones are recorded naming the link (sharing.link_scope).
"""

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.config import SharingSettings
from strongroom.content import zips
from strongroom.content.folders import ref
from strongroom.content.models import Folder, Item
from strongroom.errors import NotFound
from strongroom.sharing import download_claims, link_notices, link_scope, link_visits
from strongroom.sharing.link_visits import Visit
from strongroom.sharing.models import SharedLink


def open_link_zip(
    session: Session,
    link: SharedLink,
    visit: Visit,
    *,
    item_ids: Sequence[str],
    settings: SharingSettings,
    clock: Clock,
) -> zips.ZipPlan | None:
    """Plan, count (once) and record a zip through a link. None: the download limit is used up (the
    refusal is recorded; commit, then answer Gone). Raises NotFound (preview-only link, an item outside
    the link), Unauthenticated (steps missing), InputError."""
    actor = link_visits.require_ready(session, link, visit)
    if link.preview_only:
        raise NotFound("item", None)
    now = clock.now()
    # Counted first: a refused zip records no reads. A plan that fails rolls the count back with it.
    allowed, _ = download_claims.count_once(
        session,
        link,
        target="zip",
        visitor_key=link_visits.visitor_key(link, visit),
        ranged=False,
        now=now,
        window=timedelta(hours=settings.resume_hours),
    )
    if not allowed:
        _refused(session, actor, link, session.get_one(Item, link.item_id), clock=clock)
        return None
    plan = zips.plan_zip(
        session, actor, item_ids=item_ids, clock=clock, via="link-zip", max_files=settings.max_zip_files
    )
    _note_withheld(session, link, actor, item_ids, clock=clock)
    what = f"downloaded {plan.file_name} ({len(plan.entries)} files)"
    link_notices.note(session, link, what=what, visitor=actor.label, at=now)
    return plan


def _refused(session: Session, actor: Actor, link: SharedLink, item: Item, *, clock: Clock) -> None:
    events.record(
        session,
        actor,
        AuditAction.LINK_DOWNLOAD_REFUSED,
        item=ref(item),
        details={"link_id": link.id, "zip": True, "reason": "download limit reached"},
        at=clock.now(),
    )


def _note_withheld(
    session: Session, link: SharedLink, actor: Actor, item_ids: Sequence[str], *, clock: Clock
) -> None:
    """Folders asked for may hold items classification keeps from the link: record them, naming it."""
    for item_id in item_ids:
        folder = session.get(Item, item_id)
        if isinstance(folder, Folder):
            link_scope.list_for_visitor(session, link, actor, folder, clock=clock)
