"""A database restart or outage is a clear answer on every door, and the app recovers by itself.

A PostgreSQL instance of this test's own is crash-restarted (`pg_ctl restart -m immediate`), then
stopped for a while and started again, while a few threads keep sending requests through REST, tus,
WebDAV, a staff page, a shared-link page and an upload-request page of a live server. Every answer
must be a success or a 503 with Retry-After and the code `database_unavailable` (JSON for programs,
an HTML page for browsers): never a 500, never a dropped connection. Afterwards everything serves.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from strongroom.app import create_app
from strongroom.config import DatabaseSettings, Settings
from strongroom.db.migrate import upgrade
from strongroom.runtime import Runtime
from tests.support import own_postgres
from tests.support.live import start_live_server
from tests.support.users import UserFixture, make_user
from tests.web.test_pages import sign_in

pytestmark = pytest.mark.skipif(not own_postgres.available(), reason="needs PostgreSQL 15 binaries")

Probe = Callable[[httpx.Client, int], httpx.Response]


@dataclass
class Tally:
    answers: dict[str, int] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, name: str, verdict: str) -> None:
        with self.lock:
            self.answers[f"{name} {verdict}"] = self.answers.get(f"{name} {verdict}", 0) + 1


@pytest.fixture
def own_pg() -> Iterator[own_postgres.OwnPostgres]:
    server = own_postgres.start_own_postgres()
    yield server
    server.remove()


@pytest.fixture
def pg_runtime(settings: Settings, own_pg: own_postgres.OwnPostgres) -> Iterator[Runtime]:
    engine = create_engine(own_pg.url)
    upgrade(engine)
    engine.dispose()
    runtime = Runtime.build(
        settings.model_copy(update={"database": DatabaseSettings(url=own_pg.url, pool_size=4)})
    )
    yield runtime
    runtime.close()


def probes(alice: UserFixture, cookie: dict[str, str], link_path: str, request_path: str) -> dict[str, Probe]:
    browser = {"Accept": "text/html,application/xhtml+xml"}
    return {
        "rest list": lambda c, _n: c.get("/api/v1/folders/root/items", headers=alice.headers),
        "rest upload": lambda c, n: c.put(
            f"/api/v1/folders/root/files/note-{n}-{os.urandom(4).hex()}.txt",
            content=b"statement",
            headers=alice.headers,
        ),
        "tus create": lambda c, n: c.post(
            "/api/v1/uploads",
            headers={
                **alice.headers,
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "10",
                "Upload-Metadata": f"filename {base64.b64encode(f'cctv-{n}.mp4'.encode()).decode()}",
            },
        ),
        "dav propfind": lambda c, _n: c.request(
            "PROPFIND", "/dav/", headers={"Depth": "1"}, auth=(alice.email, alice.token)
        ),
        "staff page": lambda c, _n: c.get(
            "/files", headers={**browser, "Cookie": "; ".join(f"{k}={v}" for k, v in cookie.items())}
        ),
        "link page": lambda c, _n: c.get(link_path, headers=browser),
        "request page": lambda c, _n: c.get(request_path, headers=browser),
    }


def judge(name: str, response: httpx.Response) -> str:
    """'ok', 'outage', or a description of what is wrong with the answer."""
    if response.status_code < 400:
        return "ok"
    if response.status_code != 503:
        return f"{name}: {response.status_code} {response.text[:200]}"
    if "retry-after" not in response.headers:
        return f"{name}: 503 without Retry-After"
    if response.headers["content-type"].startswith("text/html"):
        return "outage" if name.endswith("page") else f"{name}: HTML 503 for a program"
    if response.json().get("code") != "database_unavailable":
        return f"{name}: 503 {response.text[:200]}"
    return "outage"


def hammer(base_url: str, plan: dict[str, Probe], tally: Tally, stop: threading.Event, seed: int) -> None:
    names = sorted(plan)
    with httpx.Client(base_url=base_url, timeout=60) as client:
        n = seed
        while not stop.is_set():
            name = names[n % len(names)]
            n += 1
            try:
                response = plan[name](client, n)
            except Exception as exc:
                tally.bad.append(f"{name}: {type(exc).__name__} {exc}")
                continue
            verdict = judge(name, response)
            if verdict in {"ok", "outage"}:
                tally.note(name, verdict)
            else:
                tally.bad.append(verdict)


def test_restart_and_outage_answer_503_json_and_the_app_recovers(
    pg_runtime: Runtime, own_pg: own_postgres.OwnPostgres
) -> None:
    alice = make_user(pg_runtime, "alice@force.police.test")
    app = create_app(pg_runtime)
    with TestClient(app) as setup:
        file = setup.put("/api/v1/folders/root/files/call.wav", content=b"RIFF", headers=alice.headers).json()
        link = setup.post(f"/api/v1/items/{file['id']}/shared-links", json={}, headers=alice.headers)
        assert link.status_code == 201, link.text
        request = setup.post(
            f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "CCTV"}, headers=alice.headers
        )
        assert request.status_code == 201, request.text
        sign_in(setup, alice.email)
        cookie = dict(setup.cookies)
    plan = probes(alice, cookie, urlsplit(link.json()["url"]).path, urlsplit(request.json()["url"]).path)

    server = start_live_server(app)
    tally, stop = Tally(), threading.Event()
    threads = [
        threading.Thread(target=hammer, args=(server.url, plan, tally, stop, seed), daemon=True)
        for seed in range(4)
    ]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1)  # some traffic before the first crash
        own_pg.restart_immediately()
        time.sleep(1)
        own_pg.stop()
        time.sleep(3)  # requests meanwhile find no database at all
        own_pg.start()
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)

    assert tally.bad == [], tally.bad[:20]
    # Every door met the outage, and answered it as above.
    assert [name for name in plan if f"{name} outage" not in tally.answers] == [], tally.answers
    # Back to normal by itself: every door answers with success again.
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for name, probe in plan.items():
            assert judge(name, probe(client, 10_000)) == "ok", name
    server.stop()
