"""The skills framework: which skills a version gets, the job that runs one, and the processing log.

After an upload (or a virus scan that releases a file), every skill that fits the file's type gets a
`skill_run` row (`pending`) and a job, in the same transaction; `strongroom skills run` and the
re-run button queue them for existing files. The worker marks the run `running`, writes the
plaintext into a private temp dir, runs the skill there (its tools locked down: tools.py), then
stores its sealed cards and marks it `done`, or `failed` with the reason, and records either in
the audit trail. A missing key provider or database is an outage, not a failure: the run goes back
to `pending` and the job queue retries it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.config import PreviewSettings, SkillSettings
from strongroom.content import media_types, office
from strongroom.content.folders import ref
from strongroom.content.models import File, FileVersion
from strongroom.content.reads import READABLE_SCAN_STATES
from strongroom.content.renditions import Reader, RenditionSource, tampered, write_plaintext
from strongroom.db.base import new_id
from strongroom.db.session import transaction
from strongroom.errors import Unavailable
from strongroom.jobs.queue import JobQueue
from strongroom.search import indexing
from strongroom.skills import cards, looking, reading, speech
from strongroom.skills.models import SkillCard, SkillRun
from strongroom.skills.tools import NothingToRead, SkillFailed
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey
from strongroom.storage.sealed_stream import CorruptBlob

log = logging.getLogger(__name__)
JOB_KIND = "skills.run"
STATUS_LABELS = {
    "pending": "Waiting to run",
    "running": "Running",
    "done": "Done",
    "failed": "Could not read the file",
}


@dataclass(frozen=True)
class Work:
    """What a skill is handed: the plaintext in a private temp dir and the limits to run tools under."""

    plain: Path
    content_type: str | None
    tmp: Path
    limits: PreviewSettings
    settings: SkillSettings


@dataclass(frozen=True)
class Skill:
    name: str
    label: str
    fits: Callable[[str], bool]
    run: Callable[[Work], list[cards.Finding]]


def _kind(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _family(content_type: str) -> str | None:
    return media_types.media_family(content_type) or (content_type.partition("/")[0] or None)


def _text(work: Work) -> list[cards.Finding]:
    pages, how = reading.read_text(
        work.plain, work.content_type, cwd=work.tmp, limits=work.limits, settings=work.settings
    )
    return _text_cards(pages, how)


def _ocr(work: Work) -> list[cards.Finding]:
    pages, how = reading.ocr(work.plain, cwd=work.tmp, limits=work.limits, settings=work.settings)
    return _text_cards(pages, f"tesseract OCR ({work.settings.ocr_languages}), {how}")


def _text_cards(pages: list[str], how: str) -> list[cards.Finding]:
    text = "\n\f".join(pages)
    words = len(text.split())
    found = reading.keywords(text)
    return [
        cards.Finding("text", f"{words} words on {len(pages)} page(s)", {"pages": pages}, text, how),
        cards.Finding("keywords", f"{len(found)} keywords", {"keywords": found}, "", how),
    ]


def _transcript(work: Work) -> list[cards.Finding]:
    transcript = speech.transcribe(work.plain, cwd=work.tmp, limits=work.limits, settings=work.settings)
    text = speech.transcript_text(transcript)
    summary = f"{len(text.split())} words in {transcript['duration']:g} s, by {transcript['model']}"
    found = reading.keywords(text)
    return [
        cards.Finding("transcript", summary, transcript, text, transcript["model"]),
        cards.Finding("keywords", f"{len(found)} keywords", {"keywords": found}, "", transcript["model"]),
    ]


def _detections(work: Work) -> list[cards.Finding]:
    timeline = looking.detect(work.plain, cwd=work.tmp, limits=work.limits, settings=work.settings)
    seen = sorted({d["what"].replace("_", " ") for d in timeline["detections"]})
    words = " ".join([*seen, *looking.plate_words(timeline)])
    return [cards.Finding("timeline", looking.summary(timeline), timeline, words, timeline["model"])]


SKILLS: dict[str, Skill] = {
    "text": Skill(
        "text",
        "Text",
        lambda t: t in {"text/plain", "application/pdf"} or office.is_document(t),
        _text,
    ),
    "ocr": Skill(
        "ocr", "Text in images (OCR)", lambda t: t == "application/pdf" or _family(t) == "image", _ocr
    ),
    "transcript": Skill("transcript", "Transcript", lambda t: _family(t) in {"audio", "video"}, _transcript),
    "detections": Skill(
        "detections", "Faces and number plates", lambda t: _family(t) in {"image", "video"}, _detections
    ),
}


def skills_for(content_type: str | None) -> list[str]:
    kind = _kind(content_type)
    return [name for name, skill in SKILLS.items() if kind and kind != "image/svg+xml" and skill.fits(kind)]


def enqueue_skills(
    session: Session,
    jobs: JobQueue,
    version: FileVersion,
    *,
    only: Collection[str] | None = None,
    clock: Clock | None = None,
) -> list[str]:
    """Queue every fitting skill (or those in `only`) for a readable version, in the caller's
    transaction; a run already pending or running is left alone. Returns the skills queued."""
    if version.scan_status not in READABLE_SCAN_STATES:
        return []
    queued = []
    for name in skills_for(version.content_type):
        if only is not None and name not in only:
            continue
        run = session.scalar(
            select(SkillRun).where(SkillRun.version_id == version.id, SkillRun.skill == name)
        )
        if run is not None and run.status == "pending" and run.attempts == 0:
            continue
        at = clock.now() if clock is not None else version.created_at
        if run is None:
            run = SkillRun(
                id=new_id("run"), version_id=version.id, file_id=version.file_id, skill=name, created_at=at
            )
            session.add(run)
        run.status, run.detail, run.attempts = "pending", None, 0
        run.started_at = run.finished_at = None
        session.flush()
        jobs.enqueue(session, JOB_KIND, {"run_id": run.id})
        queued.append(name)
    return queued


@dataclass(frozen=True)
class _Planned:
    run_id: str
    skill: str
    source: RenditionSource
    started_at: datetime  # which start this is: a re-run asked for meanwhile supersedes it


def _start(session: Session, run_id: str, *, settings: SkillSettings, clock: Clock) -> _Planned | None:
    run = session.get(SkillRun, run_id)
    if run is None or run.status == "done":
        return None
    version = session.get(FileVersion, run.version_id)
    if version is None or version.scan_status not in READABLE_SCAN_STATES:
        return None
    if run.skill not in settings.enabled or run.skill not in SKILLS:
        run.status, run.finished_at = "failed", clock.now()
        run.detail = f"The {run.skill} skill is turned off here (skills.enabled)."
        return None
    started = clock.now()
    run.status, run.started_at, run.finished_at, run.detail = "running", started, None, None
    run.attempts += 1
    source = RenditionSource(
        version_id=version.id,
        file_id=version.file_id,
        rendition_id=run.id,
        content_type=version.content_type,
        size=version.size,
        blob_key=version.blob_key,
        aad_id=version.sealed_for_id.encode(),
        wrapped_dek=WrappedKey(kek_id=version.kek_id, ciphertext=version.wrapped_dek),
    )
    return _Planned(run_id=run.id, skill=run.skill, source=source, started_at=started)


def _still_ours(run: SkillRun, planned: _Planned) -> bool:
    return run.status == "running" and run.started_at == planned.started_at


def run_skill(
    sessions: sessionmaker[Session],
    *,
    run_id: str,
    store: BlobStore,
    keys: KeyProvider,
    work_dir: Path,
    clock: Clock,
    settings: SkillSettings,
    limits: PreviewSettings,
) -> str:
    """Run one skill run (the worker's job); idempotent. Returns its status afterwards."""
    with transaction(sessions) as session:
        planned = _start(session, run_id, settings=settings, clock=clock)
    if planned is None:
        with transaction(sessions) as session:
            run = session.get(SkillRun, run_id)
            return run.status if run is not None else "missing"
    findings: list[cards.Finding] | None = None
    reason = None
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
            reader = Reader(sessions, clock, f"skill {planned.skill}")
            plain = write_plaintext(
                planned.source, store=store, keys=keys, path=Path(tmp) / "source", reader=reader
            )
            work = Work(plain, planned.source.content_type, Path(tmp), limits, settings)
            findings = SKILLS[planned.skill].run(work)
    except NothingToRead as exc:
        findings, reason = [], exc.reason
    except SkillFailed as exc:
        reason = exc.reason
    except CorruptBlob as exc:  # an Unavailable, but not one that waiting mends: fail the run for good
        reason = tampered(exc)
    except Unavailable as exc:
        with transaction(sessions) as session:
            run = session.get_one(SkillRun, run_id)
            if _still_ours(run, planned):
                run.status, run.detail = "pending", f"Waiting: {exc.message}"[:1000]
        raise  # the job queue tries again later
    except Exception as exc:  # a skill's bug must not leave the log saying "running" forever
        log.exception("skill run %s (%s) failed", run_id, planned.skill)
        reason = f"The skill stopped with an internal error ({type(exc).__name__}); it can be re-run."
    return _finish(sessions, planned, findings, reason, keys=keys, clock=clock)


def _finish(
    sessions: sessionmaker[Session],
    planned: _Planned,
    findings: list[cards.Finding] | None,
    reason: str | None,
    *,
    keys: KeyProvider,
    clock: Clock,
) -> str:
    with transaction(sessions) as session:
        run = session.get(SkillRun, planned.run_id)
        if run is None:
            return "missing"  # the version was purged meanwhile
        if not _still_ours(run, planned):
            return run.status  # re-queued while it ran: the newer run's result is the one to keep
        now = clock.now()
        session.execute(delete(SkillCard).where(SkillCard.run_id == run.id))
        run.finished_at = now
        details: dict[str, object] = {"version_id": run.version_id, "skill": run.skill, "run_id": run.id}
        if findings is None:
            run.status, run.detail = "failed", (reason or "failed")[:1000]
            details["reason"] = run.detail
            action = AuditAction.SKILL_FAILED
        else:
            run.status, run.detail = "done", reason
            for finding in findings:
                session.add(
                    cards.seal(
                        finding,
                        keys=keys,
                        run_id=run.id,
                        version_id=run.version_id,
                        file_id=run.file_id,
                        skill=run.skill,
                        now=now,
                    )
                )
            details["cards"] = [f.kind for f in findings]
            action = AuditAction.SKILL_DONE
        file = session.get_one(File, run.file_id)
        if file.current_version_id == run.version_id:  # an older version's words do not describe the file
            words = " ".join(" ".join(f.search_text.split()) for f in findings or [] if f.search_text)
            session.flush()
            indexing.index_text(session, run.file_id, f"skill.{run.skill}", words or None)
        label = f"skill: {SKILLS[run.skill].label}" if run.skill in SKILLS else "skills"
        events.record(
            session,
            Actor.system(label=label),
            action,
            item=ref(file),
            details=details,
            at=now,
        )
        return run.status
