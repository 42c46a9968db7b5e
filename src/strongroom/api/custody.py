"""Chain-of-custody reports over REST: the PDF for court and its machine-readable bundle.

Both are reads of the audit trail, so both need a reason (`X-Strongroom-Reason`, or `reason` for a
plain link or form) and are audited with it. Before the bundle is built a checkpoint covering the
item's newest event is signed, so an honest bundle always verifies.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from strongroom.actors import Actor
from strongroom.api.audit import AuditReason, item_facts, make_checkpoint_now
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.audit import checkpoints, custody, reasons
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.content.models import FileVersion
from strongroom.db.session import transaction
from strongroom.errors import Unavailable
from strongroom.runtime import Runtime

router = APIRouter(tags=["audit"])
# Events about the item may keep arriving while the checkpoint is signed; a few rounds catch up.
CHECKPOINT_ROUNDS = 5


def _versions(runtime: Runtime, file_id: str) -> list[custody.VersionFacts]:
    with transaction(runtime.sessions) as session:
        # item_facts made the access decision; a trashed file's versions belong in the report too.
        versions = list(session.scalars(select(FileVersion).where(FileVersion.file_id == file_id)))
        return sorted(
            (
                custody.VersionFacts(
                    v.number, v.id, v.size, v.sha256, v.created_at, v.created_by_label, v.content_type
                )
                for v in versions
            ),
            key=lambda v: v.number,
        )


def _custody(
    runtime: Runtime, actor: Actor, file_id: str, *, why: str | None, form: Literal["pdf", "bundle"]
) -> tuple[custody.ItemFacts, list[custody.VersionFacts], dict[str, Any]]:
    facts = item_facts(runtime, actor, file_id)
    stated = reasons.require_audit_reason(why)
    for _ in range(CHECKPOINT_ROUNDS):
        make_checkpoint_now(runtime)
        with transaction(runtime.sessions) as session:
            latest = checkpoints.latest(session)
            newest = custody.newest_event_seq(session, item_id=file_id)
            if latest is None or latest.tree_size < newest:
                continue  # an event about the item arrived after the checkpoint: sign again
            bundle = custody.build_bundle(
                session, item=facts, checkpoint=latest, public_key=runtime.audit_key.public_key()
            )
            record(
                session,
                actor,
                AuditAction.CUSTODY_REPORT_GENERATED,
                item=ItemRef(facts.kind or "item", file_id, facts.name),
                details={"events": len(bundle["events"]), "tree_size": latest.tree_size, "form": form},
                reason=stated,
                at=runtime.clock.now(),
            )
        return facts, _versions(runtime, file_id), bundle
    raise Unavailable("The audit log is too busy to sign a checkpoint for this report; try again.")


@router.get(
    "/files/{file_id}/custody-report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def custody_report(
    file_id: str, actor: CurrentActor, runtime: RuntimeDep, why: AuditReason = None
) -> Response:
    """A chain-of-custody report (PDF) for court: every version with size and SHA-256, the upload
    receipt, every event, the signed checkpoint, and the inclusion proofs (attached as JSON).
    Needs a reason (`X-Strongroom-Reason` or `reason`), recorded in the trail."""
    facts, versions, bundle = await run_in_threadpool(
        lambda: _custody(runtime, actor, file_id, why=why, form="pdf")
    )
    pdf = await run_in_threadpool(
        lambda: custody.render_pdf(
            item=facts,
            versions=versions,
            bundle=bundle,
            generated_at=runtime.clock.now(),
            generated_by=actor.label,
        )
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="custody-{file_id}.pdf"'},
    )


@router.get("/files/{file_id}/custody-bundle.json")
def custody_bundle(
    file_id: str, actor: CurrentActor, runtime: RuntimeDep, why: AuditReason = None
) -> Response:
    """The custody report's machine-readable part: verify it offline with `strongroom audit verify`.
    Needs a reason (`X-Strongroom-Reason` or `reason`), recorded in the trail."""
    _, _, bundle = _custody(runtime, actor, file_id, why=why, form="bundle")
    return Response(custody.bundle_json(bundle), media_type="application/json")
