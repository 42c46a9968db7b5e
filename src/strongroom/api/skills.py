"""Skills: a file's processing log (what ran, when, and why not), its result cards, and re-running."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from strongroom.api.audit import Reason
from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.skills import processing

router = APIRouter(tags=["skills"])


class CardSummary(BaseModel):
    id: str
    kind: str = Field(description="keywords, text, transcript or timeline")
    summary: str = Field(description="What was found, without the content: '42 words', '2 face(s)'")
    model: str | None = Field(description="The tool or model that made it (every transcript names one)")
    created_at: datetime


class SkillRunRead(BaseModel):
    skill: str = Field(description="text, ocr, transcript or detections")
    label: str
    status: str = Field(description="pending, running, done or failed")
    status_label: str
    detail: str | None = Field(description="Why it failed, or what it waits for")
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cards: list[CardSummary]


class ProcessingLogRead(BaseModel):
    file_id: str
    version_id: str | None = Field(description="The current version, whose skills these are")
    runs: list[SkillRunRead]
    not_run: list[str] = Field(description="Skills that fit the file but never ran (POST to run them)")


class RunRequest(BaseModel):
    skills: list[str] | None = Field(default=None, description="Which skills; all that fit when absent")


class RunAccepted(BaseModel):
    queued: list[str] = Field(description="The skills queued; one already waiting is not queued twice")
    log: ProcessingLogRead


class CardRead(CardSummary):
    file_id: str
    version_id: str
    skill: str
    content: dict[str, Any] = Field(description="The findings: text pages, a timed transcript, a timeline")


def _log_read(log: processing.ProcessingLog) -> ProcessingLogRead:
    return ProcessingLogRead(
        file_id=log.file_id,
        version_id=log.version_id,
        runs=[
            SkillRunRead(
                skill=r.skill,
                label=r.label,
                status=r.status,
                status_label=r.status_label,
                detail=r.detail,
                attempts=r.attempts,
                created_at=r.created_at,
                started_at=r.started_at,
                finished_at=r.finished_at,
                cards=[
                    CardSummary(
                        id=c.id, kind=c.kind, summary=c.summary, model=c.model, created_at=c.created_at
                    )
                    for c in r.cards
                ],
            )
            for r in log.runs
        ],
        not_run=log.not_run,
    )


@router.get("/files/{file_id}/skills", response_model=ProcessingLogRead)
def processing_log(file_id: str, actor: CurrentActor, runtime: RuntimeDep) -> ProcessingLogRead:
    """The processing log of the current version: each skill's status, the reason of a failure, and
    a summary of each result card. Needs PREVIEW."""
    with transaction(runtime.sessions) as session:
        return _log_read(processing.processing_log(session, actor, file_id=file_id))


@router.post("/files/{file_id}/skills", status_code=202, response_model=RunAccepted)
def run_skills(
    file_id: str, actor: CurrentActor, runtime: RuntimeDep, body: RunRequest | None = None
) -> RunAccepted:
    """Run the file's skills again (or for the first time, for a file uploaded before skills were
    turned on). Needs EDIT; recorded. Unknown skill names are refused (400 `unknown_skill`)."""
    wanted = body.skills if body is not None else None
    with transaction(runtime.sessions) as session:
        queued = processing.request_runs(
            session, actor, file_id=file_id, jobs=runtime.jobs, clock=runtime.clock, skills=wanted
        )
        return RunAccepted(
            queued=queued, log=_log_read(processing.processing_log(session, actor, file_id=file_id))
        )


@router.get("/files/{file_id}/skills/cards/{card_id}", response_model=CardRead)
def read_card(
    file_id: str, card_id: str, actor: CurrentActor, runtime: RuntimeDep, reason: Reason = None
) -> CardRead:
    """One result card with its content (unsealed). Needs PREVIEW; recorded as a look at the content;
    classified material may need `X-Strongroom-Reason` (else 428)."""
    with transaction(runtime.sessions) as session:
        card, content = processing.open_card(
            session,
            actor,
            file_id=file_id,
            card_id=card_id,
            keys=runtime.keys,
            clock=runtime.clock,
            reason=reason,
            reason_required_for=runtime.settings.audit.reason_required_for,
        )
        return CardRead(
            id=card.id,
            kind=card.kind,
            summary=card.summary,
            model=card.model,
            created_at=card.created_at,
            file_id=card.file_id,
            version_id=card.version_id,
            skill=card.skill,
            content=content,
        )
