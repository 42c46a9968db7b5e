"""Request ids on every answer and log line; one JSON access-log line per request from a live server."""

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from strongroom.request_log import REQUEST_ID, JsonFormatter, RequestIdFilter
from tests.cli.test_server_cli import STRONGROOM, cli_env
from tests.support.live import free_port


def test_the_clients_request_id_is_echoed_and_a_missing_or_unsafe_one_replaced(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-Id": "case-42.a"}).headers["x-request-id"] == "case-42.a"
    )
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    assert made != client.get("/healthz").headers["x-request-id"]
    unsafe = client.get("/healthz", headers={"X-Request-Id": "a b\tc"}).headers["x-request-id"]
    assert unsafe != "a b\tc"
    assert len(unsafe) == 32
    # Errors carry it too, so a user's report of a failure can be found in the logs.
    assert (
        client.get("/api/v1/files/nope/content", headers={"X-Request-Id": "r1"}).headers["x-request-id"]
        == "r1"
    )


def test_a_line_logged_by_code_serving_a_request_carries_its_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    token = REQUEST_ID.set("req-9")
    try:
        logging.getLogger("strongroom.content").warning("disk slow")
    finally:
        REQUEST_ID.reset(token)
    logging.getLogger("strongroom.content").warning("outside any request")
    inside, outside = (json.loads(JsonFormatter().format(r)) for r in caplog.records[-2:])
    assert inside["request_id"] == "req-9"
    assert inside["message"] == "disk slow"
    assert "request_id" not in outside


def test_the_access_line_carries_the_request_id(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="strongroom.access")
    caplog.handler.addFilter(RequestIdFilter())  # as configure_logging's handler does
    client.get("/readyz", headers={"X-Request-Id": "probe-7"})
    access = [r for r in caplog.records if r.name == "strongroom.access"]
    assert len(access) == 1
    line = json.loads(JsonFormatter().format(access[0]))
    assert line["request_id"] == "probe-7"
    assert line["http"]["method"] == "GET"
    assert line["http"]["path"] == "/readyz"
    assert line["http"]["status"] == 200


def test_the_access_log_never_holds_a_shared_links_secret(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="strongroom.access")
    client.get("/s/SeCrEtToKeN123/files/fi_1")
    client.get("/r/AnOtHeRsEcReT")
    paths = [r.http["path"] for r in caplog.records if r.name == "strongroom.access"]  # type: ignore[attr-defined]
    assert paths == ["/s/<token>/files/fi_1", "/r/<token>"]
    assert "SeCrEt" not in caplog.text


def test_a_live_server_writes_one_json_access_line_per_request(settings: object, tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "serve.log"
    env = {**cli_env(settings), "STRONGROOM_SERVER__ACCESS_LOG": "true"}  # type: ignore[arg-type]
    with log_file.open("w") as out:
        proc = subprocess.Popen([*STRONGROOM, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log_file.read_text()
                assert proc.poll() is None, log_file.read_text()
                time.sleep(0.2)
            answer = httpx.get(f"{url}/api/v1/folders/root/items", headers={"X-Request-Id": "live-1"})
            assert answer.status_code == 401
            assert answer.headers["x-request-id"] == "live-1"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    lines = [json.loads(raw) for raw in log_file.read_text().splitlines() if raw.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "live-1"]
    assert len(mine) == 1, lines
    assert mine[0]["logger"] == "strongroom.access"
    assert mine[0]["http"]["status"] == 401
    assert mine[0]["http"]["path"] == "/api/v1/folders/root/items"
    assert mine[0]["http"]["client"] == "127.0.0.1"
    assert os.environ.get("STRONGROOM_SERVER__ACCESS_LOG") is None  # the default stays off
