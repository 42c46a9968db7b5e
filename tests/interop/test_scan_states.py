"""Virus scanning never strands a file: every file has a visible scan state, waits are retried with
backoff until the scanner answers, files over clamd's stream limit are handled by a stated policy,
and the owner is told. A real clamd throughout.

Needs clamd: apt-get install -y --no-install-recommends clamav-daemon clamav
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from strongroom.config import Settings
from strongroom.jobs import tasks
from strongroom.jobs.models import Job
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime
from strongroom.skills import virus_scan
from tests.support.clamd import ClamdProcess, eicar, start_clamd
from tests.support.clock import AdjustableClock
from tests.support.live import free_port
from tests.support.smtp import MailSink, smtp
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

__all__ = ["smtp"]

pytestmark = pytest.mark.interop

LIMIT = 1024 * 1024  # clamd's StreamMaxLength in these tests (1M), kept small on purpose


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
def clamd_port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: MailSink, clamd_port: int) -> Settings:
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},  # type: ignore[arg-type]
        limits={"segment_bytes": 64 * 1024, "max_upload_bytes": 64 * 1024 * 1024},  # type: ignore[arg-type]
        mail={"host": smtp.host, "port": smtp.port},  # type: ignore[arg-type]
        scan={  # type: ignore[arg-type]
            "clamd": f"127.0.0.1:{clamd_port}",
            "stream_max_bytes": LIMIT,
            "retry_first_seconds": 30,
            "retry_max_seconds": 300,
        },
    )


@pytest.fixture
def runtime(settings: Settings, clock: AdjustableClock) -> Iterator[Runtime]:
    rt = Runtime.build(settings, clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def scanner(tmp_path: Path, clamd_port: int) -> Iterator[list[ClamdProcess]]:
    """Started by the test when it wants the scanner up; stopped at the end."""
    started: list[ClamdProcess] = []
    yield started
    for process in started:
        process.stop()


def submit(client: TestClient, alice: UserFixture, files: dict[str, bytes]) -> dict[str, str]:
    """Files arriving from outside through an upload link; returns their ids by name."""
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "Shop CCTV"}, headers=alice.headers
    )
    assert created.status_code == 201, created.text
    token = created.json()["url"].rsplit("/r/", 1)[1]
    sent = client.post(
        f"/r/{token}",
        data={"name": "Pat Shopkeeper", "email": "pat@shop.test"},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files.items()],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    folder = client.get(f"/api/v1/folders/{alice.root_id}/items", headers=alice.headers).json()["items"][0]
    listed = client.get(f"/api/v1/folders/{folder['id']}/items", headers=alice.headers).json()["items"]
    return {item["name"]: item["id"] for item in listed}


def work(runtime: Runtime) -> None:
    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()


def scan_of(client: TestClient, alice: UserFixture, file_id: str) -> tuple[str, str | None]:
    item = client.get(f"/api/v1/files/{file_id}", headers=alice.headers).json()
    current = next(v for v in client.get(f"/api/v1/files/{file_id}/versions", headers=alice.headers).json())
    assert current["scan_status"] == item["scan_status"]
    return item["scan_status"], current["scan_detail"]


def next_retry(runtime: Runtime, clock: AdjustableClock) -> timedelta:
    with runtime.sessions() as session:
        queued = session.scalars(
            select(Job.run_after).where(Job.kind == virus_scan.JOB_KIND, Job.status == "queued")
        ).all()
    assert len(queued) == 1
    return queued[0] - clock.now()


def test_scanner_down_then_back_the_file_becomes_clean_after_backoff_retries(
    client: TestClient,
    alice: UserFixture,
    runtime: Runtime,
    clock: AdjustableClock,
    smtp: MailSink,
    tmp_path: Path,
    clamd_port: int,
    scanner: list[ClamdProcess],
) -> None:
    cctv = os.urandom(300_000)
    file_id = submit(client, alice, {"till camera.mp4": cctv})["till camera.mp4"]
    assert scan_of(client, alice, file_id) == ("pending", None)

    work(runtime)  # clamd is not running
    status, detail = scan_of(client, alice, file_id)
    assert status == "unavailable"
    assert detail is not None
    assert "not reachable" in detail
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).status_code == 404
    told = smtp.wait_for(alice.email, count=2)[-1]  # after the upload notice
    assert "waiting for the virus scanner" in smtp.body(told)
    sign_in(client, alice.email)
    page = client.get(f"/items/{file_id}").text
    assert "Scanner unavailable" in page
    assert "Preparing a playable copy" not in page

    assert next_retry(runtime, clock) == timedelta(seconds=30)
    work(runtime)  # not due yet: nothing runs
    clock.advance(timedelta(seconds=30))
    work(runtime)
    assert next_retry(runtime, clock) == timedelta(seconds=60)  # backs off
    clock.advance(timedelta(seconds=60))
    work(runtime)
    assert next_retry(runtime, clock) == timedelta(seconds=120)
    assert len(smtp.to(alice.email)) == 2  # told once, not at every retry

    # A lost retry chain (a worker killed between two jobs) is picked up by the hourly sweep.
    with runtime.sessions.begin() as session:
        session.execute(delete(Job).where(Job.kind == virus_scan.JOB_KIND))
    clock.advance(timedelta(seconds=601))
    tasks.requeue_stranded_scans(runtime)
    assert next_retry(runtime, clock) <= timedelta(0)

    scanner.append(start_clamd(tmp_path / "clamd", port=clamd_port, stream_max="1M"))
    work(runtime)
    assert scan_of(client, alice, file_id) == ("clean", None)
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).content == cctv
    assert "passed the virus scan" in smtp.body(smtp.wait_for(alice.email, count=3)[-1])
    assert "Virus scan passed" in client.get(f"/items/{file_id}").text


def test_too_large_is_held_then_released_by_policy_and_eicar_is_quarantined(
    client: TestClient,
    alice: UserFixture,
    runtime: Runtime,
    settings: Settings,
    smtp: MailSink,
    tmp_path: Path,
    clamd_port: int,
    scanner: list[ClamdProcess],
) -> None:
    scanner.append(start_clamd(tmp_path / "clamd", port=clamd_port, stream_max="1M"))
    big = os.urandom(LIMIT + 500_000)
    files = {
        "garage export.mp4": big,
        "virus.txt": eicar(),
        "big with virus up front.bin": eicar() + os.urandom(LIMIT),
        "note.txt": b"seen at 14:02",
    }
    ids = submit(client, alice, files)
    work(runtime)

    held, detail = scan_of(client, alice, ids["garage export.mp4"])
    assert held == "too_large"
    assert detail is not None
    assert "hold policy" in detail
    assert scan_of(client, alice, ids["virus.txt"])[0] == "infected"
    assert "Strongroom.Test.EICAR" in str(scan_of(client, alice, ids["virus.txt"])[1])
    assert scan_of(client, alice, ids["note.txt"]) == ("clean", None)
    for name in ("garage export.mp4", "virus.txt", "big with virus up front.bin"):
        assert client.get(f"/api/v1/files/{ids[name]}/content", headers=alice.headers).status_code == 404, (
            name
        )
    bodies = [smtp.body(m) for m in smtp.wait_for(alice.email, count=4)]
    assert any("garage export.mp4' is too large for the virus scanner" in b for b in bodies)
    assert any("virus.txt' was quarantined" in b for b in bodies)
    sign_in(client, alice.email)
    assert "Too large to scan" in client.get(f"/items/{ids['garage export.mp4']}").text
    assert "Quarantined" in client.get(f"/items/{ids['virus.txt']}").text
    folder_id = client.get(f"/api/v1/files/{ids['note.txt']}", headers=alice.headers).json()["parent_id"]
    listing = client.get(f"/files/{folder_id}").text
    assert "Too large to scan</span>" in listing
    assert "Quarantined</span>" in listing

    # The operator chooses to scan what clamd allows of large files, and rescans the held ones.
    env = {
        **os.environ,
        "STRONGROOM_DEV_MODE": "1",
        "STRONGROOM_DATA_DIR": str(settings.data_dir),
        "STRONGROOM_DATABASE__URL": settings.database_url,
        "STRONGROOM_SCAN__CLAMD": str(settings.scan.clamd),
        "STRONGROOM_SCAN__STREAM_MAX_BYTES": str(LIMIT),
        "STRONGROOM_SCAN__LARGE_FILES": "scan_start",
        "STRONGROOM_MAIL__HOST": smtp.host,
        "STRONGROOM_MAIL__PORT": str(smtp.port),
    }
    result = subprocess.run(
        [sys.executable, "-m", "strongroom", "scan", "--rescan"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stderr  # one file is infected
    assert "garage export.mp4" in result.stdout
    status, detail = scan_of(client, alice, ids["garage export.mp4"])
    assert status == "clean"
    assert f"Only the first {LIMIT} of {len(big)} bytes were scanned" in str(detail)
    assert (
        client.get(f"/api/v1/files/{ids['garage export.mp4']}/content", headers=alice.headers).content == big
    )
    assert scan_of(client, alice, ids["big with virus up front.bin"])[0] == "infected"
    assert scan_of(client, alice, ids["virus.txt"])[0] == "infected"  # a rescan never releases malware
    assert any("passed the virus scan" in smtp.body(m) for m in smtp.wait_for(alice.email, count=6))


def test_clamd_refusing_a_stream_longer_than_its_limit_is_too_large_not_unavailable(
    tmp_path: Path, clamd_port: int, scanner: list[ClamdProcess]
) -> None:
    scanner.append(start_clamd(tmp_path / "clamd", port=clamd_port, stream_max="1M"))
    settings = Settings(dev_mode=True, scan={"clamd": f"127.0.0.1:{clamd_port}"}).scan  # type: ignore[arg-type]
    with pytest.raises(virus_scan.TooLargeForScanner):
        virus_scan.scan_chunks(settings, [os.urandom(LIMIT + 1)])
    assert virus_scan.scan_chunks(settings, [os.urandom(LIMIT)]).clean
