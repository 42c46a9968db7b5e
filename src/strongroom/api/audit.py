"""The audit trail over REST: search, export to a SIEM, checkpoints, proofs and the reports.

Administrators may read everything; an item's owner may read its access report and custody report;
every user may read their own activity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from starlette.responses import StreamingResponse

from strongroom.access.actions import Action, OrgAction
from strongroom.access.loaders import access_item, ancestry
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.audit import checkpoints, custody, export, reasons, reports, witness
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.models import AuditEvent
from strongroom.content.models import Item
from strongroom.db.session import transaction
from strongroom.errors import InputError, NotAllowed, NotFound
from strongroom.numbers import MAX_COUNT, StrictCount, parse_count
from strongroom.runtime import Runtime
from strongroom.storage.signing_keys import earlier_public_keys

router = APIRouter(tags=["audit"])

Limit = Annotated[StrictCount, Query(ge=1, le=1000, description="Page size.")]
Marker = Annotated[str | None, Query(description="The `next_marker` of the previous page.")]


def read_reason(
    reason: Annotated[
        str | None,
        Header(alias=reasons.HEADER, description="Why you read or disclose this (percent-encode non-ASCII)."),
    ] = None,
    reason_query: Annotated[
        str | None,
        Query(
            alias="reason",
            max_length=3 * reasons.MAX_REASON_CHARS,
            description="The same reason, for players and links that cannot send a header (the header wins).",
        ),
    ] = None,
) -> str | None:
    return reasons.clean_reason(reason if reason is not None else reason_query)


Reason = Annotated[str | None, Depends(read_reason)]
"""The stated reason of a read or disclosure; the service decides whether one is required."""


def read_audit_reason(
    header: Annotated[
        str | None,
        Header(alias=reasons.HEADER, description="Why you read the audit trail (percent-encode non-ASCII)."),
    ] = None,
    reason: Annotated[
        str | None,
        Query(
            max_length=4 * reasons.MAX_REASON_CHARS,
            description=f"Why you read the audit trail, where a header cannot be sent (a link, a form);"
            f" {reasons.HEADER} wins when both are given.",
        ),
    ] = None,
) -> str | None:
    if header is not None:
        return reasons.clean_reason(header)
    return reasons.clean_reason(reason, percent_encoded=False)


AuditReason = Annotated[str | None, Depends(read_audit_reason)]
"""Why the audit trail is read: required (428 `reason_required`) once the actor may read it."""


def _require_admin(actor: Actor) -> None:
    """Reading the audit trail: administrators and auditors (read-only), nobody else."""
    if not can(actor, OrgAction.READ_AUDIT):
        raise NotAllowed("Only administrators and auditors may read the audit trail.")


def _require_administrator(actor: Actor) -> None:
    if not can(actor, OrgAction.ADMINISTER):
        raise NotAllowed("Only administrators may do this.")


def _after(marker: str | None) -> int | None:
    if marker is None:
        return None
    value = parse_count(marker)
    if value is None:
        raise InputError("marker must be the next_marker of a previous page.", field="marker")
    return value


def event_json(event: AuditEvent) -> dict[str, Any]:
    return export.event_record(event)


def _page(events: list[AuditEvent], limit: int) -> dict[str, Any]:
    return {
        "events": [event_json(e) for e in events],
        "next_marker": str(events[-1].seq) if len(events) == limit else None,
    }


@router.get("/audit/events")
def search_events(
    actor: CurrentActor,
    runtime: RuntimeDep,
    action: Annotated[
        str | None, Query(description="An action, or a prefix ending in '.' (e.g. 'content.').")
    ] = None,
    actor_id: str | None = None,
    actor_kind: str | None = None,
    item_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    why: AuditReason = None,
    limit: Limit = 100,
    marker: Marker = None,
) -> dict[str, Any]:
    """Search the audit trail (admins), oldest first, keyset-paged by sequence number. The search is
    itself audited with its reason (`X-Strongroom-Reason` or `reason`, required)."""
    _require_admin(actor)
    stated = reasons.require_audit_reason(why)
    where = reports.EventFilter(
        action=action, actor_id=actor_id, actor_kind=actor_kind, item_id=item_id, since=since, until=until
    )
    filters = {
        "action": action,
        "actor_id": actor_id,
        "actor_kind": actor_kind,
        "item_id": item_id,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "marker": marker,
    }
    with transaction(runtime.sessions) as session:
        page = _page(reports.search(session, where, limit=limit, after_seq=_after(marker)), limit)
        record(
            session,
            actor,
            AuditAction.AUDIT_SEARCHED,
            details={k: v for k, v in filters.items() if v is not None},
            reason=stated,
            at=runtime.clock.now(),
        )
    return page


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_log(
    actor: CurrentActor,
    runtime: RuntimeDep,
    format: Literal["jsonl", "syslog"] = "jsonl",  # noqa: A002 - the query parameter's public name
    after_seq: Annotated[StrictCount, Query(ge=0, le=MAX_COUNT)] = 0,
    why: AuditReason = None,
) -> StreamingResponse:
    """Stream the log: `jsonl` (verifiable with `strongroom audit verify`) or RFC 5424 `syslog` lines.
    The export is audited with its reason (`X-Strongroom-Reason` or `reason`, required)."""
    _require_admin(actor)
    lines = export.export_log(
        runtime.sessions,
        actor,
        format=format,
        after_seq=after_seq,
        public_key=runtime.audit_key.public_key(),
        origin=witness.origin_of(runtime.settings),
        reason=reasons.require_audit_reason(why),
        clock=runtime.clock,
    )
    return StreamingResponse(lines, media_type="application/x-ndjson" if format == "jsonl" else "text/plain")


@router.get("/audit/public-key")
def public_key(runtime: RuntimeDep) -> dict[str, str]:
    """The Ed25519 key that signs checkpoints (hex). Keep a copy elsewhere to verify exports against."""
    key = runtime.audit_key.public_key()
    return {"public_key": key.hex(), "key_id": checkpoints.key_id(key)}


@router.get("/audit/checkpoints")
def list_checkpoints(
    actor: CurrentActor, runtime: RuntimeDep, limit: Limit = 100, marker: Marker = None
) -> dict[str, Any]:
    """Signed checkpoints, newest first."""
    _require_admin(actor)
    with transaction(runtime.sessions) as session:
        found = checkpoints.list_checkpoints(session, limit=limit, before=_after(marker))
        return {
            "checkpoints": [checkpoints.as_record(c) for c in found],
            "next_marker": str(found[-1].tree_size) if len(found) == limit else None,
        }


def make_checkpoint_now(runtime: Runtime) -> dict[str, object] | None:
    return witness.checkpoint_now(
        runtime.sessions,
        settings=runtime.settings,
        sign=runtime.audit_key.sign,
        public_key=runtime.audit_key.public_key(),
        earlier_keys=earlier_public_keys(runtime.audit_key),
        clock=runtime.clock,
    )


@router.post("/audit/checkpoints", status_code=201)
def create_checkpoint(actor: CurrentActor, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    """Sign a checkpoint over every event now (201), or return the latest if nothing happened since (200)."""
    _require_administrator(actor)
    made = make_checkpoint_now(runtime)
    if made is not None:
        return made
    with transaction(runtime.sessions) as session:
        latest = checkpoints.latest(session)
        if latest is None:
            raise InputError("The audit trail is empty; there is nothing to sign yet.")
        response.status_code = 200
        return checkpoints.as_record(latest)


@router.get("/audit/proofs/inclusion")
def inclusion_proof(
    actor: CurrentActor,
    runtime: RuntimeDep,
    seq: Annotated[StrictCount, Query(ge=1, le=MAX_COUNT)],
    tree_size: Annotated[
        StrictCount | None, Query(ge=1, le=MAX_COUNT, description="Default: the latest checkpoint's size.")
    ] = None,
) -> dict[str, Any]:
    """RFC 6962 inclusion proof of event `seq` in the tree of `tree_size` events."""
    _require_admin(actor)
    with transaction(runtime.sessions) as session:
        latest = checkpoints.latest(session)
        if tree_size is None:
            if latest is None:
                raise InputError("No checkpoint yet; give tree_size.")
            tree_size = latest.tree_size
        proof = checkpoints.inclusion_proof(session, seq=seq, tree_size=tree_size).as_dict()
        signed = next(iter(checkpoints.list_checkpoints(session, limit=1, before=tree_size + 1)), None)
        if signed is not None and signed.tree_size == tree_size:
            proof["checkpoint"] = checkpoints.as_record(signed)
        return proof


@router.get("/audit/proofs/consistency")
def consistency_proof(
    actor: CurrentActor,
    runtime: RuntimeDep,
    first: Annotated[StrictCount, Query(ge=1, le=MAX_COUNT)],
    second: Annotated[StrictCount, Query(ge=1, le=MAX_COUNT)],
) -> dict[str, Any]:
    """RFC 6962 consistency proof: the log of `first` events is a prefix of the log of `second`."""
    _require_admin(actor)
    with transaction(runtime.sessions) as session:
        return checkpoints.consistency_proof(session, first=first, second=second)


def item_facts(runtime: Runtime, actor: Actor, item_id: str) -> custody.ItemFacts:
    """The item if it still exists and the actor manages it (or is an admin); only admins may ask
    about deleted items, whose facts then come from the events."""
    with transaction(runtime.sessions) as session:
        item = session.get(Item, item_id)
        if item is not None and not can(actor, OrgAction.READ_AUDIT):
            item = access_item(session, actor, item_id, Action.MANAGE)
        if item is not None:
            # Below the owner's root ("My files"), above the item: the case folder first.
            location = tuple(folder.name for folder in ancestry(session, item)[1:-1])
            return custody.ItemFacts(
                item.id, item.name, item.kind, item.classification, exists=True, location=location
            )
        if not can(actor, OrgAction.READ_AUDIT):
            raise NotFound("item", item_id)
        last = reports.search(session, reports.EventFilter(item_id=item_id), limit=1)
        if not last:
            raise NotFound("item", item_id)
        return custody.ItemFacts(item_id, last[0].item_name, last[0].item_kind, None, exists=False)


@router.get("/items/{item_id}/access-report")
def access_report(
    item_id: str,
    actor: CurrentActor,
    runtime: RuntimeDep,
    why: AuditReason = None,
    limit: Limit = 100,
    marker: Marker = None,
) -> dict[str, Any]:
    """Who consulted or disclosed this item (one row per actor), and every event about it, paged.
    Audited with its reason (`X-Strongroom-Reason` or `reason`, required)."""
    facts = item_facts(runtime, actor, item_id)
    stated = reasons.require_audit_reason(why)
    with transaction(runtime.sessions) as session:
        page = _page(
            reports.search(
                session, reports.EventFilter(item_id=item_id), limit=limit, after_seq=_after(marker)
            ),
            limit,
        )
        accessors = reports.item_accessors(session, item_id=item_id)
        ref = ItemRef(facts.kind or "item", item_id, facts.name)
        record(
            session,
            actor,
            AuditAction.ACCESS_REPORT_GENERATED,
            item=ref,
            details={"report": "access", "marker": marker},
            reason=stated,
            at=runtime.clock.now(),
        )
    return {
        "item": {"id": facts.id, "name": facts.name, "exists": facts.exists},
        "accessors": accessors,
        **page,
    }


@router.get("/users/{user_id}/activity")
def user_activity(
    user_id: str,
    actor: CurrentActor,
    runtime: RuntimeDep,
    why: AuditReason = None,
    limit: Limit = 100,
    marker: Marker = None,
) -> dict[str, Any]:
    """What a user did (their own activity, or anyone's for admins). Audited with its reason
    (`X-Strongroom-Reason` or `reason`, required)."""
    if actor.user_id != user_id and not can(actor, OrgAction.READ_AUDIT):
        raise NotFound("user", user_id)
    stated = reasons.require_audit_reason(why)
    with transaction(runtime.sessions) as session:
        where = reports.EventFilter(actor_id=user_id)
        page = _page(reports.search(session, where, limit=limit, after_seq=_after(marker)), limit)
        record(
            session,
            actor,
            AuditAction.ACTIVITY_REPORT_GENERATED,
            item=ItemRef("user", user_id),
            details={"report": "user", "user_id": user_id, "marker": marker},
            reason=stated,
            at=runtime.clock.now(),
        )
    return page


@router.get("/audit/links/{link_id}/activity")
def link_activity(
    link_id: str,
    actor: CurrentActor,
    runtime: RuntimeDep,
    why: AuditReason = None,
    limit: Limit = 100,
    marker: Marker = None,
) -> dict[str, Any]:
    """What went out through a shared link or came in through an upload request (admins). Audited
    with its reason (`X-Strongroom-Reason` or `reason`, required)."""
    _require_admin(actor)
    stated = reasons.require_audit_reason(why)
    with transaction(runtime.sessions) as session:
        page = _page(
            reports.link_events(session, link_id=link_id, limit=limit, after_seq=_after(marker)), limit
        )
        record(
            session,
            actor,
            AuditAction.ACTIVITY_REPORT_GENERATED,
            details={"report": "link", "link_id": link_id, "marker": marker},
            reason=stated,
            at=runtime.clock.now(),
        )
    return page
