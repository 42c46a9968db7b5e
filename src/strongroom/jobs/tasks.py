"""The table of job handlers and periodic tasks. Domains provide the functions; they are wired here."""

import functools
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict

from strongroom.clock import Clock
from strongroom.config import PreviewSettings
from strongroom.jobs.worker import Handler, Periodic
from strongroom.runtime import Runtime
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider


def purge_expired_trash(runtime: Runtime) -> None:
    from strongroom.content import trash
    from strongroom.content.maintenance import delete_blobs
    from strongroom.db.session import on_commit, transaction

    with transaction(runtime.sessions) as session:
        freed = trash.purge_expired(
            session, retention=timedelta(days=runtime.settings.trash.retention_days), clock=runtime.clock
        )
        on_commit(session, functools.partial(delete_blobs, runtime.blobs, freed))
    runtime.issue_disposal_certificates()


def issue_disposal_certificates(runtime: Runtime) -> None:
    runtime.issue_disposal_certificates()


def collect_orphans(runtime: Runtime) -> None:
    from strongroom.content import maintenance
    from strongroom.sharing import upload_submissions

    maintenance.collect_orphan_blobs(
        runtime.sessions, runtime.blobs, clock=runtime.clock, keep=upload_submissions.referenced_blob_keys
    )


def sign_audit_checkpoint(runtime: Runtime) -> None:
    from strongroom.audit import sequencer, witness
    from strongroom.storage.signing_keys import earlier_public_keys

    # Events a crashed process committed but never chained wait in audit_pending: chain them now,
    # whether or not a checkpoint is due (each commit with an event does the same).
    sequencer.chain_all(runtime.sessions)
    if not witness.checkpoint_due(runtime.sessions, settings=runtime.settings, clock=runtime.clock):
        return
    witness.checkpoint_now(
        runtime.sessions,
        settings=runtime.settings,
        sign=runtime.audit_key.sign,
        public_key=runtime.audit_key.public_key(),
        earlier_keys=earlier_public_keys(runtime.audit_key),
        clock=runtime.clock,
    )


def retire_superseded_keys(runtime: Runtime) -> None:
    from strongroom.content import maintenance
    from strongroom.sharing import models as sharing_models
    from strongroom.skills import models as skills_models

    maintenance.retire_superseded(
        runtime.sessions,
        runtime.keys,
        clock=runtime.clock,
        grace=timedelta(seconds=runtime.settings.keys.retire_grace_seconds),
        more_holders=[sharing_models.SubmissionChunk, skills_models.SkillCard],
    )


def expire_uploads(runtime: Runtime) -> None:
    reap_abandoned_uploads(runtime)


def reap_abandoned_uploads(runtime: Runtime) -> tuple[int, int]:
    """Every expired tus upload and every abandoned upload-request submission's chunks, with their
    bytes, however many; (uploads, submissions) reaped. The worker's periodic task and `strongroom gc`."""
    from strongroom.content import abandoned_uploads
    from strongroom.sharing import abandoned_submissions

    uploads = abandoned_uploads.reap_expired_uploads(runtime.sessions, runtime.blobs, clock=runtime.clock)
    submissions = abandoned_submissions.reap_abandoned_submissions(
        runtime.sessions,
        runtime.blobs,
        clock=runtime.clock,
        older_than=timedelta(hours=runtime.settings.sharing.abandoned_submission_hours),
    )
    return uploads, submissions


def summarise_link_guesses(runtime: Runtime) -> None:
    from strongroom.db.session import transaction
    from strongroom.sharing import link_guessing

    with transaction(runtime.sessions) as session:
        link_guessing.summarise_finished_windows(
            session, settings=runtime.settings.sharing, now=runtime.clock.now()
        )


def mail_link_notices(runtime: Runtime) -> None:
    from strongroom.db.session import transaction
    from strongroom.sharing import link_notices

    with transaction(runtime.sessions) as session:
        link_notices.mail_waiting_notices(
            session,
            runtime.settings.mail,
            public_url=runtime.settings.public_url,
            every=timedelta(seconds=runtime.settings.sharing.notify_every_seconds),
            now=runtime.clock.now(),
        )


def forget_download_claims(runtime: Runtime) -> None:
    from strongroom.db.session import transaction
    from strongroom.sharing import download_claims

    with transaction(runtime.sessions) as session:
        download_claims.forget_expired(session, now=runtime.clock.now())


def virus_scan(runtime: Runtime, payload: dict[str, Any]) -> None:
    from strongroom.skills import virus_scan as scanner

    scanner.scan_version(
        runtime.sessions,
        version_id=payload["version_id"],
        settings=runtime.settings.scan,
        store=runtime.blobs,
        keys=runtime.keys,
        jobs=runtime.jobs,
        clock=runtime.clock,
        mail=scanner.ScanMail(settings=runtime.settings.mail, public_url=runtime.settings.public_url),
    )


def requeue_stranded_scans(runtime: Runtime) -> None:
    from strongroom.db.session import transaction
    from strongroom.skills import virus_scan as scanner

    with transaction(runtime.sessions) as session:
        scanner.requeue_stranded(
            session, jobs=runtime.jobs, settings=runtime.settings.scan, clock=runtime.clock
        )


class _ContentWork(TypedDict):
    """What every job that reads stored bytes and works on them in a scratch folder is handed."""

    store: BlobStore
    keys: KeyProvider
    work_dir: Path
    clock: Clock
    limits: PreviewSettings


def _content_work(runtime: Runtime) -> _ContentWork:
    return _ContentWork(
        store=runtime.blobs,
        keys=runtime.keys,
        work_dir=runtime.settings.data_dir / "tmp",
        clock=runtime.clock,
        limits=runtime.settings.previews,
    )


def render_preview(runtime: Runtime, payload: dict[str, Any]) -> None:
    from strongroom.content import renditions

    renditions.render_preview(
        runtime.sessions,
        version_id=payload["version_id"],
        segment_bytes=runtime.settings.limits.segment_bytes,
        **_content_work(runtime),
    )


def render_thumbnail(runtime: Runtime, payload: dict[str, Any]) -> None:
    from strongroom.content import thumbnails

    thumbnails.render_thumbnail(
        runtime.sessions,
        version_id=payload["version_id"],
        segment_bytes=runtime.settings.limits.segment_bytes,
        **_content_work(runtime),
    )


def run_skill(runtime: Runtime, payload: dict[str, Any]) -> None:
    from strongroom.skills import runs

    runs.run_skill(
        runtime.sessions,
        run_id=payload["run_id"],
        settings=runtime.settings.skills,
        **_content_work(runtime),
    )


def forget_idempotency_keys(runtime: Runtime) -> None:
    from strongroom.db.session import transaction
    from strongroom.idempotency import keys

    with transaction(runtime.sessions) as session:
        keys.purge_expired(session, now=runtime.clock.now())


def forget_periods(runtime: Runtime) -> None:
    """Drop the markers that let one worker in the cluster run each periodic task per period."""
    from datetime import timedelta

    from strongroom.jobs.queue import DatabaseJobQueue

    if isinstance(runtime.jobs, DatabaseJobQueue):
        runtime.jobs.forget_periods(older_than=timedelta(days=1))


def scrub_blobs(runtime: Runtime) -> None:
    from strongroom.content import scrub

    scrub.scrub_step(
        runtime.sessions,
        runtime.blobs,
        runtime.keys,
        clock=runtime.clock,
        bytes_per_second=runtime.settings.scrub.bytes_per_second,
        bytes_per_run=runtime.settings.scrub.bytes_per_run,
    )


def handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    table["skills.virus_scan"] = virus_scan
    table["content.render_preview"] = render_preview
    table["content.render_thumbnail"] = render_thumbnail
    table["skills.run"] = run_skill
    return table


def periodic() -> list[Periodic]:
    return [
        Periodic("trash.purge_expired", 3600, purge_expired_trash),
        Periodic("disposals.issue_certificates", 300, issue_disposal_certificates),
        Periodic("storage.collect_orphans", 3600, collect_orphans),
        Periodic("uploads.expire", 600, expire_uploads),
        # A safety net: scans retry themselves; this re-queues any waiting file whose retries were lost.
        Periodic("skills.scan_requeue", 3600, requeue_stranded_scans),
        Periodic("sharing.summarise_link_guesses", 300, summarise_link_guesses),
        # Retires key-encryption keys superseded by `strongroom keys rotate` once their grace has passed.
        Periodic("keys.retire_superseded", 3600, retire_superseded_keys),
        Periodic("idempotency.forget_expired", 3600, forget_idempotency_keys),
        # Each run checks up to [scrub] bytes_per_run at [scrub] bytes_per_second, then resumes next time.
        Periodic("storage.scrub", 600, scrub_blobs),
        # Wakes every minute; signs only when [audit] checkpoint_every_seconds passed and events arrived.
        Periodic("audit.checkpoint", 60, sign_audit_checkpoint),
        # Wakes every minute; mails each owner at most once per [sharing] notify_every_seconds.
        Periodic("sharing.mail_link_notices", 60, mail_link_notices),
        Periodic("sharing.forget_download_claims", 3600, forget_download_claims),
        Periodic("jobs.forget_periods", 3600, forget_periods),
    ]
