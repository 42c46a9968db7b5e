"""Shared links, owner side: create, list, change, revoke; access reports per link and per item."""

from fastapi import APIRouter

from strongroom.api.audit import AuditReason, Reason
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.sharing import access_reports, shared_links
from strongroom.sharing.schemas import AccessEntryRead, SharedLinkCreate, SharedLinkRead, SharedLinkUpdate

router = APIRouter(tags=["shared links"])


@router.post("/items/{item_id}/shared-links", status_code=201, response_model=SharedLinkRead)
def create_link(
    item_id: str, body: SharedLinkCreate, actor: CurrentActor, runtime: RuntimeDep, reason: Reason = None
) -> SharedLinkRead:
    """Create a link to a file or folder. The response carries the link's `url` once; it cannot be
    shown again. With `send_mail`, the server e-mails it to each recipient (who shared it, from which
    force, `about` which case or exhibit, until when); with `notify_owner`, you get a batched mail when
    it is opened or a file downloaded. Disclosing classified material may need `X-Strongroom-Reason`
    (else 428)."""
    settings = runtime.settings
    with transaction(runtime.sessions) as session:
        link, token = shared_links.create_shared_link(
            session,
            actor,
            item_id=item_id,
            options=body,
            settings=settings.sharing,
            mail=settings.mail,
            clock=runtime.clock,
            reason=reason,
            reason_required_for=settings.audit.reason_required_for,
            public_url=settings.public_url,
        )
        recipients = shared_links.recipients_of(session, link.id)
        return SharedLinkRead.of(link, recipients=recipients, url=f"{settings.public_url}/s/{token}")


@router.get("/items/{item_id}/shared-links", response_model=list[SharedLinkRead])
def list_links(item_id: str, actor: CurrentActor, runtime: RuntimeDep) -> list[SharedLinkRead]:
    with transaction(runtime.sessions) as session:
        return [
            SharedLinkRead.of(link, recipients=shared_links.recipients_of(session, link.id))
            for link in shared_links.list_links(session, actor, item_id=item_id)
        ]


@router.get("/shared-links/{link_id}", response_model=SharedLinkRead)
def get_link(link_id: str, actor: CurrentActor, runtime: RuntimeDep) -> SharedLinkRead:
    with transaction(runtime.sessions) as session:
        link, _ = shared_links.access_link(session, actor, link_id)
        return SharedLinkRead.of(link, recipients=shared_links.recipients_of(session, link.id))


@router.patch("/shared-links/{link_id}", response_model=SharedLinkRead)
def update_link(
    link_id: str, body: SharedLinkUpdate, actor: CurrentActor, runtime: RuntimeDep
) -> SharedLinkRead:
    """Change expiry, limit, preview-only, password or recipients; the URL stays the same."""
    with transaction(runtime.sessions) as session:
        link = shared_links.update_shared_link(
            session,
            actor,
            link_id=link_id,
            changes=body,
            settings=runtime.settings.sharing,
            clock=runtime.clock,
        )
        return SharedLinkRead.of(link, recipients=shared_links.recipients_of(session, link.id))


@router.post("/shared-links/{link_id}/revoke", response_model=SharedLinkRead)
def revoke_link(link_id: str, actor: CurrentActor, runtime: RuntimeDep) -> SharedLinkRead:
    """Stop the link now: later requests get 410 and running downloads are cut off."""
    with transaction(runtime.sessions) as session:
        link = shared_links.revoke_shared_link(session, actor, link_id=link_id, clock=runtime.clock)
        return SharedLinkRead.of(link, recipients=shared_links.recipients_of(session, link.id))


@router.get("/shared-links/{link_id}/access-report", response_model=list[AccessEntryRead])
def link_report(
    link_id: str, actor: CurrentActor, runtime: RuntimeDep, why: AuditReason = None
) -> list[AccessEntryRead]:
    """Every view, preview, download, failed password and failed code through this link: who, when,
    from where. Needs a reason (`X-Strongroom-Reason` or `reason`), recorded in the trail."""
    with transaction(runtime.sessions) as session:
        return access_reports.link_report(session, actor, link_id=link_id, reason=why, at=runtime.clock.now())


@router.get("/items/{item_id}/shared-links/access-report", response_model=list[AccessEntryRead])
def item_report(
    item_id: str, actor: CurrentActor, runtime: RuntimeDep, why: AuditReason = None
) -> list[AccessEntryRead]:
    """Every access to the item and, for a folder, what its links opened below it: by users and through
    its links. (`/items/{id}/access-report` of the audit API is the whole audit view of one item.)
    Needs a reason (`X-Strongroom-Reason` or `reason`), recorded in the trail."""
    with transaction(runtime.sessions) as session:
        return access_reports.item_report(session, actor, item_id=item_id, reason=why, at=runtime.clock.now())
