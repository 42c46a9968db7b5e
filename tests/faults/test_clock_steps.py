"""One clock for decisions: a clock stepped back revives nothing, and audit times never decrease.

A real `strongroom serve` runs under libfaketime, its clock read from a file this test rewrites:
forward three hours (the one-time code and the idle web session expire), forward two days (the link
expires), then back to the start. Everything that expired stays expired — also after a restart with
the clock still back — and the audit trail's times never decrease along its sequence, even for an
event written by another process whose clock runs a day behind.

On PostgreSQL the database's clock decides, so an app process whose clock runs two days behind
the database's sees as expired what the database's clock says has expired. It also issues by that
clock: a session or one-time code opened by a lagging process lasts its full time, and one issued by a
process whose clock runs ahead does not last days longer than it should.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from strongroom.config import Settings
from tests.support.live import free_port
from tests.support.smtp import MailSink, smtp

__all__ = ["smtp"]

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
PASSWORD = "correct horse battery staple"
OFFICER = "officer@force.police.test"
PROSECUTOR = "prosecutor@cps.gov.test"

pytestmark = pytest.mark.skipif(not LIBFAKETIME.exists(), reason="needs libfaketime (Debian `faketime`)")


class FakeClock:
    """The offset a faketime'd process sees, in a file it re-reads on every clock call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set("+0")

    def set(self, offset: str) -> None:
        self.path.write_text(offset + "\n", encoding="ascii")

    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            # Timers (uvicorn, SQLite's busy wait) keep real monotonic time; only the wall clock moves.
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }


def cli_env(settings: Settings, mail: MailSink, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "STRONGROOM_DEV_MODE": "1",
        "STRONGROOM_DATA_DIR": str(settings.data_dir),
        "STRONGROOM_DATABASE__URL": settings.database_url,
        "STRONGROOM_MAIL__HOST": mail.host,
        "STRONGROOM_MAIL__PORT": str(mail.port),
        "STRONGROOM_MAIL__SENDER": "strongroom@force.police.test",
        **(extra or {}),
    }


def strongroom(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"server did not start: {self.stop()}")
            time.sleep(0.2)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return out or ""


@pytest.fixture
def fake_clock(tmp_path: Path) -> FakeClock:
    return FakeClock(tmp_path / "faketime")


@pytest.fixture
def served(
    settings: Settings, smtp: MailSink, fake_clock: FakeClock
) -> Iterator[tuple[dict[str, str], Server]]:
    env = cli_env(settings, smtp)
    env_faked = {**env, **fake_clock.env()}
    server = Server(env_faked)
    yield env_faked, server
    server.stop()


def sign_in(web: httpx.Client) -> None:
    form = web.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, form.text
    done = web.post(
        "/login",
        data={"email": OFFICER, "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/files"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def signed_in(web: httpx.Client) -> bool:
    page = web.get("/files", follow_redirects=True)
    assert page.status_code == 200, page.text
    return not page.url.path.startswith("/login")  # a lapsed session is sent to the sign-in page


def audit_times(settings: Settings) -> list[datetime]:
    path = make_url(settings.database_url).database
    assert path is not None
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT occurred_at FROM audit_event ORDER BY seq").fetchall()
    return [datetime.fromisoformat(str(value)).replace(tzinfo=UTC) for (value,) in rows]  # stored as UTC


def test_a_clock_stepped_back_revives_no_link_code_or_session(
    settings: Settings,
    smtp: MailSink,
    fake_clock: FakeClock,
    served: tuple[dict[str, str], Server],
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the SQLite high-water mark; PostgreSQL's own clock is tested below")
    env, server = served
    token = strongroom(env, "users", "create", OFFICER, "--token", "--password", PASSWORD).strip()
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    web = httpx.Client(base_url=server.url, headers={"Accept": "text/html"}, timeout=60)
    visitor = httpx.Client(base_url=server.url, timeout=60)
    with api, web, visitor:
        file = api.put("/api/v1/folders/root/files/call.wav", content=b"RIFF").json()
        day_link = api.post(f"/api/v1/items/{file['id']}/shared-links", json={"expires_in_days": 1}).json()
        proof_link = api.post(
            f"/api/v1/items/{file['id']}/shared-links", json={"recipients": [PROSECUTOR]}
        ).json()
        day_path = "/s/" + day_link["url"].rsplit("/s/", 1)[1]
        proof_path = "/s/" + proof_link["url"].rsplit("/s/", 1)[1]
        sign_in(web)
        asked = visitor.post(f"{proof_path}/api/code-request", json={"email": PROSECUTOR})
        assert asked.status_code == 202, asked.text
        code = smtp.code_for(PROSECUTOR)
        assert visitor.get(f"{day_path}/api").status_code == 200
        assert signed_in(web)

        fake_clock.set("+3h")  # past the code's 10 minutes and the session's 2 idle hours
        refused = visitor.post(f"{proof_path}/api/code", json={"email": PROSECUTOR, "code": code})
        assert refused.status_code != 204, "an expired code was accepted"
        assert not signed_in(web)
        assert visitor.get(f"{day_path}/api").status_code == 200

        fake_clock.set("+2d")
        assert visitor.get(f"{day_path}/api").status_code == 410

        fake_clock.set("+0")  # the clock steps back to where it started
        assert visitor.get(f"{day_path}/api").status_code == 410, "a stepped-back clock revived the link"
        again = visitor.post(f"{proof_path}/api/code", json={"email": PROSECUTOR, "code": code})
        assert again.status_code != 204, "a stepped-back clock revived the one-time code"
        assert not signed_in(web), "a stepped-back clock revived the web session"

    # Restarted with the clock still back: the audit trail's last time is the high-water mark.
    server.stop()
    restarted = Server(env)
    try:
        assert httpx.get(f"{restarted.url}{day_path}/api", timeout=60).status_code == 410
    finally:
        restarted.stop()

    # Another process whose clock runs a day behind writes an event: it is not stamped before the rest.
    fake_clock.set("-1d")
    strongroom(env, "users", "create", "late@force.police.test")
    times = audit_times(settings)
    assert len(times) > 5
    assert times == sorted(times), "audit times decreased along the sequence"
    assert times[-1] >= datetime.now(UTC) + timedelta(days=1), "the late event kept its stepped-back time"


def eleven_minutes_pass(settings: Settings) -> None:
    """The database's clock cannot be moved, so the unused one-time codes are made eleven minutes older."""
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as db:
            db.execute(
                text(
                    "UPDATE one_time_code SET created_at = created_at - interval '11 minutes', "
                    "expires_at = expires_at - interval '11 minutes' WHERE used_at IS NULL"
                )
            )
    finally:
        engine.dispose()


def test_on_postgresql_the_database_clock_decides_expiry(
    settings: Settings, smtp: MailSink, fake_clock: FakeClock
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: the app's clock is stepped, the database's is real")
    fake_clock.set("-2d")  # the app's processes run two days behind the database, from the start
    env = {**cli_env(settings, smtp), **fake_clock.env()}
    token = strongroom(env, "users", "create", OFFICER, "--token", "--password", PASSWORD).strip()
    behind = Server(env)
    api = httpx.Client(base_url=behind.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    web = httpx.Client(base_url=behind.url, headers={"Accept": "text/html"}, timeout=60)
    visitor = httpx.Client(base_url=behind.url, timeout=60)
    try:
        with api, web, visitor:
            file = api.put("/api/v1/folders/root/files/call.wav", content=b"RIFF").json()
            # Ended an hour ago by the database's clock, still a day and more ahead by the app's own. The
            # end is set in the database, as the app would not take a time it may already see as past
            # (the app's clock never runs behind the audit trail's last event).
            link = api.post(f"/api/v1/items/{file['id']}/shared-links", json={})
            assert link.status_code == 201, link.text
            engine = create_engine(settings.database_url)
            try:
                with engine.begin() as db:
                    db.execute(
                        text("UPDATE shared_link SET expires_at = now() - interval '1 hour' WHERE id = :id"),
                        {"id": link.json()["id"]},
                    )
            finally:
                engine.dispose()
            path = "/s/" + link.json()["url"].rsplit("/s/", 1)[1]
            assert visitor.get(f"{path}/api").status_code == 410

            # What the lagging process opens and issues counts from the database's clock too: a session
            # lasts its hours, a one-time code its ten minutes, by the clock that later judges them.
            sign_in(web)
            assert signed_in(web), "a session opened by a lagging process was already over"
            proof = api.post(
                f"/api/v1/items/{file['id']}/shared-links", json={"recipients": [PROSECUTOR]}
            ).json()
            proof_path = "/s/" + proof["url"].rsplit("/s/", 1)[1]
            visitor.post(f"{proof_path}/api/code-request", json={"email": PROSECUTOR})
            code = smtp.code_for(PROSECUTOR)
            answer = visitor.post(f"{proof_path}/api/code", json={"email": PROSECUTOR, "code": code})
            assert answer.status_code == 204, (
                f"a fresh code from a lagging process was refused: {answer.text}"
            )

            # Now the app's clock runs two days AHEAD: a code it issues must not live two days longer.
            fake_clock.set("+2d")
            mails = len(smtp.to(PROSECUTOR))
            visitor.post(f"{proof_path}/api/code-request", json={"email": PROSECUTOR})
            code = smtp.code_for(PROSECUTOR, nth=mails)  # the new code's mail, not the last one's
            eleven_minutes_pass(settings)
            late = visitor.post(f"{proof_path}/api/code", json={"email": PROSECUTOR, "code": code})
            assert late.status_code != 204, (
                "a code older than its 10 minutes by the database's clock was accepted"
            )
    finally:
        behind.stop()
