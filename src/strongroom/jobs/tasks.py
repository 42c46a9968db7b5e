"""The table of job handlers and periodic tasks. Domains provide the functions; they are wired here."""

import functools
from datetime import timedelta
from typing import Any

from strongroom.jobs.worker import Handler, Periodic
from strongroom.runtime import Runtime


def purge_expired_trash(runtime: Runtime) -> None:
    from strongroom.content import trash
    from strongroom.content.maintenance import delete_blobs
    from strongroom.db.session import on_commit, transaction

    with transaction(runtime.sessions) as session:
        freed = trash.purge_expired(
            session, retention=timedelta(days=runtime.settings.trash.retention_days), clock=runtime.clock
        )
        on_commit(session, functools.partial(delete_blobs, runtime.blobs, freed))


def collect_orphans(runtime: Runtime) -> None:
    from strongroom.content import maintenance
    from strongroom.sharing import upload_requests

    maintenance.collect_orphan_blobs(
        runtime.sessions, runtime.blobs, clock=runtime.clock, keep=upload_requests.referenced_blob_keys
    )


def sign_audit_checkpoint(runtime: Runtime) -> None:
    from strongroom.audit import witness

    if not witness.checkpoint_due(runtime.sessions, settings=runtime.settings, clock=runtime.clock):
        return
    witness.checkpoint_now(
        runtime.sessions,
        settings=runtime.settings,
        sign=runtime.keys.sign_audit,
        public_key=runtime.keys.audit_public_key(),
        clock=runtime.clock,
    )


def expire_uploads(runtime: Runtime) -> None:
    from strongroom.content import resumable_uploads

    resumable_uploads.expire_uploads(runtime.sessions, runtime.blobs, clock=runtime.clock)


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
    )


def render_preview(runtime: Runtime, payload: dict[str, Any]) -> None:
    from strongroom.content import renditions

    renditions.render_preview(
        runtime.sessions,
        version_id=payload["version_id"],
        store=runtime.blobs,
        keys=runtime.keys,
        work_dir=runtime.settings.data_dir / "tmp",
        segment_bytes=runtime.settings.limits.segment_bytes,
        clock=runtime.clock,
    )


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
    return table


def periodic() -> list[Periodic]:
    return [
        Periodic("trash.purge_expired", 3600, purge_expired_trash),
        Periodic("storage.collect_orphans", 3600, collect_orphans),
        Periodic("uploads.expire", 600, expire_uploads),
        # Each run checks up to [scrub] bytes_per_run at [scrub] bytes_per_second, then resumes next time.
        Periodic("storage.scrub", 600, scrub_blobs),
        # Wakes every minute; signs only when [audit] checkpoint_every_seconds passed and events arrived.
        Periodic("audit.checkpoint", 60, sign_audit_checkpoint),
    ]
