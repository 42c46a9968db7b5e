"""Scale-out: two app processes and a worker share only the database and an object store (Azurite).
One app is killed (SIGKILL) in the middle of a tus PATCH; nothing it acknowledged is lost, and the
upload carries on and completes through the other app.

Run it on PostgreSQL as production would: STRONGROOM_TEST_DB=postgresql (SQLite works too).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit

import httpx
import pytest

from strongroom.config import Settings
from tests.cli.test_server_cli import STRONGROOM, cli_env, run_cli, start_server, stop
from tests.support.users import UserFixture

TUS = {"Tus-Resumable": "1.0.0"}
SEG = 64 * 1024
TAKEOVER_WAIT_SECONDS = 240  # a killed writer's heartbeat goes stale after 60 s; the machine is slow


@pytest.fixture
def blob_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    server = request.getfixturevalue("azurite")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    url: str = server.fresh_url()
    return url


def _patch(http: httpx.Client, user: UserFixture, url: str, offset: int, body: bytes) -> httpx.Response:
    return http.patch(
        url,
        content=body,
        headers={**user.headers, **TUS, "Content-Type": "application/offset+octet-stream",
                 "Upload-Offset": str(offset)},
    )  # fmt: skip


def _start_patch_and_hang(
    server_url: str, user: UserFixture, path: str, offset: int, declared: int, body: bytes
) -> socket.socket:
    """A PATCH that sends part of its body and then waits: the app is killed while it is in flight."""
    where = urlsplit(server_url)
    sock = socket.create_connection((where.hostname, where.port))
    sock.sendall(
        (
            f"PATCH {path} HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer {user.token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: {offset}\r\nContent-Length: {declared}\r\n\r\n"
        ).encode()
        + body
    )
    return sock


def test_an_app_killed_mid_upload_loses_nothing_and_the_other_finishes_it(
    settings: Settings, alice: UserFixture
) -> None:
    data = os.urandom(12 * SEG + 5)
    first, first_url = start_server(settings)
    second, second_url = start_server(settings)
    worker = subprocess.Popen(
        [*STRONGROOM, "worker"],
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=first_url, timeout=60) as http:
            created = http.post(
                "/api/v1/uploads",
                headers={**alice.headers, **TUS, "Upload-Length": str(len(data)),
                         "Upload-Metadata": "filename Ym9keWNhbS5tcDQ=,folder_id cm9vdA=="},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            path = urlsplit(created.headers["Location"]).path
            acknowledged = 4 * SEG + 11
            assert _patch(http, alice, path, 0, data[:acknowledged]).status_code == 204
        hanging = _start_patch_and_hang(
            first_url,
            alice,
            path,
            acknowledged,
            len(data) - acknowledged,
            data[acknowledged : acknowledged + 3 * SEG],
        )
        time.sleep(2)  # the first app is now streaming that PATCH into the store
        stop(first, kill=True)
        hanging.close()

        with httpx.Client(base_url=second_url, timeout=60) as http:
            offset = int(http.head(path, headers={**alice.headers, **TUS}).headers["Upload-Offset"])
            assert offset >= acknowledged  # nothing acknowledged is lost
            deadline = time.monotonic() + TAKEOVER_WAIT_SECONDS
            while True:
                finished = _patch(http, alice, path, offset, data[offset:])
                if finished.status_code != 409 or finished.json()["code"] != "upload_busy":
                    break
                assert time.monotonic() < deadline, "the dead app's lease was never taken over"
                time.sleep(5)
            assert finished.status_code == 204, finished.text
            file_url = finished.headers["Location"]
            info = http.get(file_url, headers=alice.headers).json()
            assert info["sha256"] == hashlib.sha256(data).hexdigest()
            assert http.get(file_url + "/content", headers=alice.headers).content == data
        assert worker.poll() is None  # the worker kept running through it all
        assert "0 failed" in run_cli(settings, "verify").stdout
    finally:
        for process in (first, second):
            stop(process, kill=True)
        worker.terminate()
        worker.communicate(timeout=120)
