"""Acceptance, over HTTP against a real server: an investigator shares a 999 call with the CPS (preview
only, 7 days, recipient proof) and a defence firm (download, limit 3); each recipient proves their
e-mail by a mailed code and uses the link; the limit and the expiry hold; revocation cuts a running
download; the access report lists exactly what happened.

Needs ffmpeg (previews): apt-get install -y --no-install-recommends ffmpeg
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from strongroom.config import Settings
from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime
from tests.support.clock import AdjustableClock
from tests.support.live import LiveServer
from tests.support.smtp import MailSink, smtp  # noqa: F401 - fixture
from tests.support.users import UserFixture

pytestmark = pytest.mark.interop

CPS = "reviewing.lawyer@cps.gov.uk"
DEFENCE = "solicitor@defence-law.test"


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: MailSink) -> Settings:  # noqa: F811
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 10},  # type: ignore[arg-type]
        limits={"segment_bytes": 64 * 1024, "max_upload_bytes": 64 * 1024 * 1024},  # type: ignore[arg-type]
        mail={"host": smtp.host, "port": smtp.port},  # type: ignore[arg-type]
    )


@pytest.fixture
def runtime(settings: Settings, clock: AdjustableClock) -> Iterator[Runtime]:
    rt = Runtime.build(settings, clock=clock)
    yield rt
    rt.close()


def run_jobs(runtime: Runtime) -> None:
    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()


def call_recording(tmp_path: Path) -> bytes:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is missing: apt-get install -y --no-install-recommends ffmpeg")
    target = tmp_path / "call.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4",
            "-ac",
            "1",
            "-ar",
            "8000",
            str(target),
        ],
        check=True,
    )
    return target.read_bytes()


def upload(api: httpx.Client, owner: UserFixture, name: str, data: bytes, content_type: str) -> str:
    r = api.put(
        f"/api/v1/folders/{owner.root_id}/files/{name}",
        content=data,
        headers={**owner.headers, "Content-Type": content_type},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def share(api: httpx.Client, owner: UserFixture, item_id: str, **options: object) -> tuple[str, str]:
    r = api.post(f"/api/v1/items/{item_id}/shared-links", json=options, headers=owner.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    token = body["url"].rsplit("/s/", 1)[1]
    return body["id"], token


def prove(visitor: httpx.Client, token: str, email: str, smtp: MailSink) -> None:  # noqa: F811
    assert visitor.get(f"/s/{token}/api").json()["step"] == "email"
    before = len(smtp.to(email))
    assert visitor.post(f"/s/{token}/api/code-request", json={"email": email}).status_code == 202
    smtp.wait_for(email, count=before + 1)
    code = smtp.code_for(email)
    # A mail scanner fetching the code page uses nothing: the page only shows a form.
    assert visitor.get(f"/s/{token}/code", params={"email": email}).status_code == 200
    r = visitor.post(f"/s/{token}/api/code", json={"email": email, "code": code})
    assert r.status_code == 204, r.text
    assert visitor.get(f"/s/{token}/api").json()["step"] == "ready"


def test_investigator_shares_a_999_call_with_cps_and_defence(
    runtime: Runtime,
    live_server: LiveServer,
    alice: UserFixture,
    smtp: MailSink,  # noqa: F811 - the fixture
    clock: AdjustableClock,
    tmp_path: Path,
) -> None:
    audio = call_recording(tmp_path)
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        file_id = upload(api, alice, "999 call 2026-11-20.wav", audio, "audio/wav")
        run_jobs(runtime)  # the preview rendition
        cps_link, cps_token = share(
            api, alice, file_id, name="CPS", preview_only=True, expires_in_days=7, recipients=[CPS]
        )
        def_link, def_token = share(
            api, alice, file_id, name="Defence", download_limit=3, recipients=[DEFENCE]
        )

    cps = httpx.Client(base_url=live_server.url, timeout=30, headers={"User-Agent": "CPS browser"})
    defence = httpx.Client(base_url=live_server.url, timeout=30, headers={"User-Agent": "Defence browser"})
    with cps, defence:
        landing = cps.get(f"/s/{cps_token}")
        assert landing.status_code == 200
        assert landing.headers["Referrer-Policy"] == "no-referrer"
        assert "noindex" in landing.headers["X-Robots-Tag"]
        assert landing.headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in landing.headers["Content-Security-Policy"]
        assert (
            "999 call" not in landing.text
        )  # nothing about the item before the recipient proved who they are
        assert cps.get(f"/s/{cps_token}/preview/{file_id}").status_code == 401

        # A stranger's address gets the same answer and no mail; a wrong code is refused.
        assert (
            cps.post(f"/s/{cps_token}/api/code-request", json={"email": "someone@else.test"}).status_code
            == 202
        )
        assert cps.post(f"/s/{cps_token}/api/code-request", json={"email": CPS}).status_code == 202
        code = smtp.code_for(CPS)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert cps.post(f"/s/{cps_token}/api/code", json={"email": CPS, "code": wrong}).status_code == 401
        assert cps.get(f"/s/{cps_token}/code", params={"email": CPS}).status_code == 200
        assert cps.post(f"/s/{cps_token}/api/code", json={"email": CPS, "code": code}).status_code == 204
        # Single use: the same code does not work twice.
        assert (
            httpx.post(
                f"{live_server.url}/s/{cps_token}/api/code", json={"email": CPS, "code": code}
            ).status_code
            == 401
        )
        assert not smtp.to("someone@else.test")

        ready = cps.get(f"/s/{cps_token}/api").json()
        assert ready["step"] == "ready"
        assert ready["preview_only"] is True
        page = cps.get(f"/s/{cps_token}")
        assert f"/s/{cps_token}/preview/{file_id}" in page.text
        assert f"/s/{cps_token}/content/{file_id}" not in page.text
        assert 'controlslist="nodownload"' in page.text  # the player offers no save button either
        assert ">Download" not in page.text
        played = cps.get(f"/s/{cps_token}/preview/{file_id}")
        assert played.status_code == 200
        assert played.headers["content-type"] == "audio/mp4"
        assert played.content != audio
        assert hashlib.sha256(played.content).hexdigest() != hashlib.sha256(audio).hexdigest()
        seek = cps.get(f"/s/{cps_token}/preview/{file_id}", headers={"Range": "bytes=100-199"})
        assert seek.status_code == 206
        assert seek.content == played.content[100:200]
        # Preview only: the original bytes are not reachable through this link at all.
        assert cps.get(f"/s/{cps_token}/content/{file_id}").status_code == 404
        assert (
            cps.get(f"/s/{cps_token}/content/{file_id}", headers={"Range": "bytes=0-10"}).status_code == 404
        )

        prove(defence, def_token, DEFENCE, smtp)
        for _ in range(5):  # the landing page is a view, not a download
            assert defence.get(f"/s/{def_token}/api").status_code == 200
        for _ in range(3):
            r = defence.get(f"/s/{def_token}/content/{file_id}")
            assert r.status_code == 200
            assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(audio).hexdigest()
        fourth = defence.get(f"/s/{def_token}/content/{file_id}")
        assert fourth.status_code == 410
        # The defence link never opens for someone who did not prove the address.
        assert httpx.get(f"{live_server.url}/s/{def_token}/content/{file_id}").status_code == 401

        clock.advance(timedelta(days=7, minutes=1))
        expired = cps.get(f"/s/{cps_token}")
        assert expired.status_code == 410
        assert "999 call" not in expired.text
        assert cps.get(f"/s/{cps_token}/preview/{file_id}").status_code == 410

    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        # Reading the reports is itself audited, with a reason (here the `reason` parameter).
        why = {"reason": "Disclosure log for the CPS"}
        cps_report = api.get(
            f"/api/v1/shared-links/{cps_link}/access-report", params=why, headers=alice.headers
        ).json()
        def_report = api.get(
            f"/api/v1/shared-links/{def_link}/access-report", params=why, headers=alice.headers
        ).json()
        item_report = api.get(
            f"/api/v1/items/{file_id}/shared-links/access-report", params=why, headers=alice.headers
        ).json()

    assert [(e["action"], e["who"]) for e in cps_report] == [
        ("sharing.link.created", alice.email),
        ("sharing.link.opened", "anonymous"),
        ("sharing.link.code_failed", "anonymous"),  # someone@else.test is no recipient
        ("sharing.link.code_sent", "anonymous"),
        ("sharing.link.code_failed", "anonymous"),  # the wrong code
        ("sharing.link.recipient_verified", CPS),
        ("sharing.link.code_failed", "anonymous"),  # the used code, tried again
        ("sharing.link.opened", CPS),
        ("sharing.link.opened", CPS),
        ("content.preview.read", CPS),
        ("content.preview.read", CPS),
    ]
    assert {e["user_agent"] for e in cps_report[1:6]} == {"CPS browser"}
    assert all(e["ip"] == "127.0.0.1" for e in cps_report[1:])
    def_actions = [(e["action"], e["who"]) for e in def_report]
    assert def_actions[:1] == [("sharing.link.created", alice.email)]
    assert def_actions.count(("content.version.read", DEFENCE)) == 3
    assert def_actions[-1] == ("sharing.link.download_refused", DEFENCE)
    assert next(e for e in def_report if e["action"] == "content.version.read")["details"]["via"] == "link"
    assert {e["link_id"] for e in item_report if e["actor_kind"] == "link"} == {cps_link, def_link}


def test_two_parallel_downloads_with_limit_one_exactly_one_succeeds(
    live_server: LiveServer, alice: UserFixture
) -> None:
    data = os.urandom(300_000)
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        file_id = upload(api, alice, "cctv.bin", data, "application/octet-stream")
        _, token = share(api, alice, file_id, download_limit=1)
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def download() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            barrier.wait()
            r = client.get(f"/s/{token}/content/{file_id}")
            statuses.append(r.status_code)
            if r.status_code == 200:
                assert r.content == data

    threads = [threading.Thread(target=download) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 410]


def test_revocation_cuts_a_running_download(live_server: LiveServer, alice: UserFixture) -> None:
    size = 24 * 1024 * 1024
    data = os.urandom(size)
    with httpx.Client(base_url=live_server.url, timeout=60) as api:
        file_id = upload(api, alice, "body-worn.mp4.bin", data, "application/octet-stream")
        link_id, token = share(api, alice, file_id)
        received = 0
        with httpx.Client(base_url=live_server.url, timeout=60) as visitor, pytest.raises(httpx.HTTPError):  # noqa: PT012, SIM117
            with visitor.stream("GET", f"/s/{token}/content/{file_id}") as r:
                assert r.status_code == 200
                chunks = r.iter_raw(64 * 1024)
                received += len(next(chunks))
                revoked = api.post(f"/api/v1/shared-links/{link_id}/revoke", headers=alice.headers)
                assert revoked.status_code == 200
                for chunk in chunks:
                    received += len(chunk)
        assert received < size
        assert api.get(f"/s/{token}/content/{file_id}").status_code == 410
        report = api.get(
            f"/api/v1/shared-links/{link_id}/access-report",
            params={"reason": "Check the revocation cut the stream"},
            headers=alice.headers,
        ).json()
        assert [e["action"] for e in report][-2:] == ["sharing.link.revoked", "sharing.link.stream_cut"]
