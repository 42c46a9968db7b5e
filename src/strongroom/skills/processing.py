"""What people see of skills: the processing log of a file, its cards, and the re-run button.

The log and the cards' summaries need PREVIEW (they say what a file contains, as a preview does);
opening a card unseals content (a transcript, the text, where faces are) and is recorded like a
preview read, with the reason classified material needs. Asking for skills to run again needs EDIT.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_file, effective_label
from strongroom.actors import Actor
from strongroom.audit import events, reasons
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.models import FileVersion
from strongroom.errors import InputError, NotFound
from strongroom.jobs.queue import JobQueue
from strongroom.skills import cards, runs
from strongroom.skills.models import SkillCard, SkillRun
from strongroom.storage.keys import KeyProvider


class UnknownSkill(InputError):
    code = "unknown_skill"


@dataclass(frozen=True)
class CardInfo:
    id: str
    kind: str
    summary: str
    model: str | None
    created_at: datetime


@dataclass(frozen=True)
class RunInfo:
    skill: str
    label: str
    status: str
    status_label: str
    detail: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cards: list[CardInfo] = field(default_factory=list)


@dataclass(frozen=True)
class ProcessingLog:
    file_id: str
    version_id: str | None
    runs: list[RunInfo]
    not_run: list[str]  # skills that fit the file but have no run yet (an older upload)


def processing_log(session: Session, actor: Actor, *, file_id: str) -> ProcessingLog:
    """The skills of the current version: status, reason, times and card summaries. Raises NotFound."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    if version is None:
        return ProcessingLog(file.id, None, [], [])
    rows = list(
        session.scalars(select(SkillRun).where(SkillRun.version_id == version.id).order_by(SkillRun.skill))
    )
    found = session.scalars(
        select(SkillCard).where(SkillCard.version_id == version.id).order_by(SkillCard.kind)
    )
    by_run: dict[str, list[CardInfo]] = {}
    for card in found:
        by_run.setdefault(card.run_id, []).append(
            CardInfo(card.id, card.kind, card.summary, card.model, card.created_at)
        )
    infos = [
        RunInfo(
            skill=run.skill,
            label=runs.SKILLS[run.skill].label if run.skill in runs.SKILLS else run.skill,
            status=run.status,
            status_label=runs.STATUS_LABELS.get(run.status, run.status),
            detail=run.detail,
            attempts=run.attempts,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            cards=by_run.get(run.id, []),
        )
        for run in rows
    ]
    have = {run.skill for run in rows}
    missing = [s for s in runs.skills_for(version.content_type) if s not in have]
    return ProcessingLog(file.id, version.id, infos, missing)


def request_runs(
    session: Session,
    actor: Actor,
    *,
    file_id: str,
    jobs: JobQueue,
    clock: Clock,
    skills: Collection[str] | None = None,
) -> list[str]:
    """Queue the file's skills (all that fit, or `skills`) to run again; recorded. Returns the queued
    skills. A skill that does not fit the file, or one already waiting, is left out."""
    unknown = sorted(set(skills or ()) - set(runs.SKILLS))
    if unknown:
        names = ", ".join(runs.SKILLS)
        raise UnknownSkill(f"No such skill: {', '.join(unknown)}. The skills are: {names}.", unknown=unknown)
    file = access_file(session, actor, file_id, Action.EDIT)
    version = session.get(FileVersion, file.current_version_id) if file.current_version_id else None
    if version is None:
        return []
    queued = runs.enqueue_skills(session, jobs, version, only=skills, clock=clock)
    if queued:
        events.record(
            session,
            actor,
            AuditAction.SKILL_REQUESTED,
            item=ref(file),
            details={"version_id": version.id, "skills": queued},
            at=clock.now(),
        )
    return queued


def open_card(
    session: Session,
    actor: Actor,
    *,
    file_id: str,
    card_id: str,
    keys: KeyProvider,
    clock: Clock,
    reason: str | None = None,
    reason_required_for: Collection[str] = (),
    via: str = "api",
) -> tuple[SkillCard, dict[str, Any]]:
    """Unseal one card of the file (any version's); recorded as a look at the content."""
    file = access_file(session, actor, file_id, Action.PREVIEW)
    reasons.require_reason(
        classification=effective_label(session, file), reason=reason, required_for=reason_required_for
    )
    card = session.get(SkillCard, card_id)
    if card is None or card.file_id != file.id:
        raise NotFound("card", card_id)
    payload = cards.unseal(card, keys=keys)
    events.record(
        session,
        actor,
        AuditAction.SKILL_CARD_READ,
        item=ref(file),
        details={"version_id": card.version_id, "card_id": card.id, "kind": card.kind, "via": via},
        reason=reason,
        at=clock.now(),
    )
    return card, payload


def enqueue_missing(session: Session, jobs: JobQueue, *, clock: Clock, limit: int = 10_000) -> int:
    """Queue skills for current versions that never had them (files from before skills existed, or
    a skill newly turned on): `strongroom skills run`. Returns how many skill runs were queued."""
    from strongroom.content.models import File

    query = (
        select(FileVersion)
        .join(File, File.current_version_id == FileVersion.id)
        .where(~select(SkillRun.id).where(SkillRun.version_id == FileVersion.id).exists())
        .limit(limit)
    )
    return sum(len(runs.enqueue_skills(session, jobs, v, clock=clock)) for v in session.scalars(query))
