"""A version whose stored bytes fail their check while streaming to clamd is `tampered`: held with the
finding, recorded once as a `storage.blob.tampered` incident, and never retried (the same bytes would
fail again). A real clamd. Needs clamd: apt-get install -y --no-install-recommends clamav-daemon clamav
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.content.models import FileVersion
from strongroom.jobs.models import Job
from strongroom.runtime import Runtime
from strongroom.skills import virus_scan
from tests.interop.test_scan_states import (
    clamd_port,
    clock,
    runtime,
    scan_of,
    scanner,
    settings,
    submit,
    work,
)
from tests.support.clamd import ClamdProcess, start_clamd
from tests.support.clock import AdjustableClock
from tests.support.smtp import MailSink, smtp
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

__all__ = ["clamd_port", "clock", "runtime", "scanner", "settings", "smtp"]

pytestmark = pytest.mark.interop


def test_tampered_bytes_met_by_the_scan_are_held_recorded_once_and_not_retried(
    client: TestClient,
    alice: UserFixture,
    runtime: Runtime,
    clock: AdjustableClock,
    smtp: MailSink,
    tmp_path: Path,
    clamd_port: int,
    scanner: list[ClamdProcess],
) -> None:
    scanner.append(start_clamd(tmp_path / "clamd", port=clamd_port, stream_max="1M"))
    ids = submit(client, alice, {"till roll.mp4": os.urandom(300_000)})
    file_id = ids["till roll.mp4"]
    with runtime.sessions() as session:
        version = session.scalars(select(FileVersion).where(FileVersion.file_id == file_id)).one()
    blob = runtime.settings.blob_path / version.blob_key[:2] / version.blob_key[2:4] / version.blob_key
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    blob.write_bytes(bytes(raw))

    work(runtime)
    status, detail = scan_of(client, alice, file_id)
    assert status == "tampered"
    assert detail is not None
    assert "failed authentication" in detail
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).status_code == 404
    assert any("failed their integrity check" in smtp.body(m) for m in smtp.wait_for(alice.email, count=1))
    # The web says what holds it: not a virus scan to wait for, and the folder page marks it.
    sign_in(client, alice.email)
    page = client.get(f"/items/{file_id}").text
    assert "failed their integrity check" in page
    assert "until an administrator restores its stored bytes" in page
    assert "until the virus scan passes" not in page
    folder_id = client.get(f"/api/v1/files/{file_id}", headers=alice.headers).json()["parent_id"]
    listing = client.get(f"/files/{folder_id}").text
    assert '<span class="sr-tag sr-tag--secret">Integrity check failed</span>' in listing

    # Hours later: no retry chain, and the hourly sweep does not pick it up again.
    clock.advance(timedelta(hours=5))
    with runtime.sessions() as session, session.begin():
        queued = virus_scan.requeue_stranded(
            session, jobs=runtime.jobs, settings=runtime.settings.scan, clock=clock
        )
    work(runtime)
    assert queued == 0
    assert scan_of(client, alice, file_id)[0] == "tampered"
    with runtime.sessions() as session:
        waiting = session.scalars(
            select(Job.id).where(Job.kind == virus_scan.JOB_KIND, Job.status == "queued")
        )
        assert list(waiting) == []
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == "storage.blob.tampered")).all()
    ((incident),) = found
    assert (incident.actor_label, incident.item_id) == ("virus scanner", file_id)
    assert json.loads(incident.details)["version_id"] == version.id
