"""The integrity scrub and `verify`: every version and rendition, resumable, rate-limited, audited."""

import json
import os
from pathlib import Path

from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.content import scrub, uploads
from strongroom.content.models import FileRendition, FileVersion
from strongroom.db.base import new_id
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.storage.sealed_blobs import SealedBlobWriter
from tests.support.users import UserFixture

SEG = 64 * 1024  # the test settings' segment size


def _seal(runtime: Runtime, aad_id: str, data: bytes) -> uploads.SealedBlob:
    writer = SealedBlobWriter(
        store=runtime.blobs, keys=runtime.keys, aad_id=aad_id.encode(), segment_size=SEG
    )
    writer.write(data)
    return writer.finish()


def _file(runtime: Runtime, user: UserFixture, name: str, data: bytes) -> FileVersion:
    with transaction(runtime.sessions) as session:
        plan = uploads.prepare_upload(session, user.actor, folder_id=user.root_id, name=name)
    sealed = _seal(runtime, plan.version_id, data)
    with transaction(runtime.sessions) as session:
        _, version = uploads.commit_upload(
            session,
            user.actor,
            plan=plan,
            sealed=sealed,
            clock=runtime.clock,
            store=runtime.blobs,
            keys=runtime.keys,
        )
        return version


def _rendition(runtime: Runtime, version: FileVersion, data: bytes) -> FileRendition:
    rendition_id = new_id("rnd")
    sealed = _seal(runtime, rendition_id, data)
    with transaction(runtime.sessions) as session:
        rendition = FileRendition(
            id=rendition_id,
            version_id=version.id,
            kind="preview",
            status="ready",
            content_type="video/mp4",
            size=sealed.size,
            sha256=sealed.sha256.hex(),
            blob_key=sealed.blob_key,
            segment_size=sealed.segment_size,
            kek_id=sealed.wrapped_dek.kek_id,
            wrapped_dek=sealed.wrapped_dek.ciphertext,
            created_at=runtime.clock.now(),
        )
        session.add(rendition)
        return rendition


def _path(runtime: Runtime, key: str) -> Path:
    return runtime.settings.blob_path / key[:2] / key[2:4] / key


def _tamper(runtime: Runtime, key: str) -> None:
    path = _path(runtime, key)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


def _incidents(runtime: Runtime) -> list[dict[str, str]]:
    with transaction(runtime.sessions) as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == "storage.blob.tampered"))
        return [json.loads(event.details) for event in found]


def test_verify_checks_renditions_too_and_records_each_failure(runtime: Runtime, alice: UserFixture) -> None:
    version = _file(runtime, alice, "bodycam.mp4", os.urandom(3 * SEG))
    rendition = _rendition(runtime, version, os.urandom(SEG + 7))
    clean = scrub.verify_all(runtime.sessions, runtime.blobs, runtime.keys, clock=runtime.clock)
    assert clean.checked == {"version": 1, "rendition": 1}
    assert clean.failures == []

    _tamper(runtime, rendition.blob_key or "")
    report = scrub.verify_all(runtime.sessions, runtime.blobs, runtime.keys, clock=runtime.clock)
    assert len(report.failures) == 1
    assert f"rendition {rendition.id}" in report.failures[0]
    (incident,) = _incidents(runtime)
    assert incident["rendition_id"] == rendition.id
    assert incident["version_id"] == version.id


def test_the_scrub_resumes_where_it_stopped_keeps_to_its_rate_and_finds_tampering(
    runtime: Runtime, alice: UserFixture
) -> None:
    versions = [_file(runtime, alice, f"clip-{n}.mp4", os.urandom(2 * SEG)) for n in range(3)]
    appended = sorted(versions, key=lambda v: v.id)[1]
    with _path(runtime, appended.blob_key).open("ab") as blob:
        blob.write(b"x")  # bytes after the final segment are tampering too
    slept: list[float] = []

    def run() -> scrub.VerifyReport:
        return scrub.scrub_step(
            runtime.sessions,
            runtime.blobs,
            runtime.keys,
            clock=runtime.clock,
            bytes_per_second=SEG,  # two seconds' worth per clip
            bytes_per_run=2 * SEG,  # one clip per run
            sleep=slept.append,
        )

    first, second, third, fourth, fifth = run(), run(), run(), run(), run()
    assert [r.checked["version"] for r in (first, second, third)] == [1, 1, 1]
    assert (first.failures, third.failures) == ([], [])
    assert len(second.failures) == 1
    assert appended.id in second.failures[0]
    # The fourth run finds the pass done and says so; the fifth starts a new pass at the first clip.
    assert fourth.checked["version"] == 0
    assert fifth.checked["version"] == 1
    assert fifth.failures == []
    # Each run read 2 * SEG bytes at SEG bytes per second: it asked to wait about two seconds.
    assert all(1.0 < s <= 2.0 for s in slept)
    assert len(slept) == 4
    (incident,) = _incidents(runtime)
    assert incident["version_id"] == appended.id
