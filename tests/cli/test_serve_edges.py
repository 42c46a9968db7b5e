"""`strongroom serve` at its edges, tested against the real server process: which client address the
audit trail records on every door, read deadlines for slow senders, and where host and port come from."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from strongroom.config import Settings
from tests.cli.test_server_cli import STRONGROOM, cli_env, run_cli, stop
from tests.support.live import free_port

EMAIL = "officer@force.police.test"
START_TIMEOUT = 120


def start(
    settings: Settings,
    *,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """Start `strongroom serve` (by default with `--port`; pass `port` when the config names it)."""
    env = {**cli_env(settings), **(extra_env or {})}
    if port is None:
        port = free_port()
        args = (*(args or ()), "--port", str(port))
    proc = subprocess.Popen(
        [*STRONGROOM, "serve", *(args or ())],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {stop(proc)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"server did not start: {stop(proc, kill=True)}")


@pytest.fixture
def token(settings: Settings) -> str:
    return run_cli(settings, "users", "create", EMAIL, "--token").stdout.strip()


def audit_ips(settings: Settings) -> set[str | None]:
    """Addresses of events caused by requests (not the CLI, the worker or the garbage collector)."""
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT ip FROM audit_event WHERE actor_kind != 'system'"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def use_every_door(url: str, token: str, forwarded_for: dict[str, str]) -> None:
    """One audited action per door, each sending its own `X-Forwarded-For`."""
    bearer = {"Authorization": f"Bearer {token}"}
    basic = "Basic " + base64.b64encode(f"{EMAIL}:{token}".encode()).decode()

    def xff(door: str) -> dict[str, str]:
        return {"X-Forwarded-For": forwarded_for[door]}

    with httpx.Client(base_url=url, timeout=30) as api:
        put = api.put(
            "/api/v1/folders/root/files/rest.txt", content=b"rest", headers={**bearer, **xff("rest")}
        )
        assert put.status_code == 201, put.text
        tus = api.post(
            "/api/v1/uploads",
            headers={
                **bearer,
                **xff("tus"),
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "4",
                "Upload-Metadata": "filename " + base64.b64encode(b"tus.txt").decode(),
            },
        )
        assert tus.status_code == 201, tus.text
        dav = api.put("/dav/dav.txt", content=b"dav", headers={"Authorization": basic, **xff("dav")})
        assert dav.status_code in {201, 204}, dav.text
        link = api.post(
            f"/api/v1/items/{put.json()['id']}/shared-links", json={}, headers={**bearer, **xff("rest")}
        )
        link_token = link.json()["url"].rsplit("/s/", 1)[1]
        root = api.get("/api/v1/folders/root", headers={**bearer, **xff("rest")}).json()["id"]
        request = api.post(
            f"/api/v1/folders/{root}/upload-requests",
            json={"title": "CCTV"},
            headers={**bearer, **xff("rest")},
        )
        request_token = request.json()["url"].rsplit("/r/", 1)[1]
    with httpx.Client(base_url=url, timeout=30) as browser:
        page = browser.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, page.text
        refused = browser.post(
            "/login",
            data={"email": EMAIL, "password": "not the password", "csrf_token": csrf.group(1)},
            headers=xff("web"),
        )
        assert refused.status_code == 401, refused.text
        assert browser.get(f"/s/{link_token}", headers=xff("link")).status_code == 200
        started = browser.post(
            f"/r/{request_token}/api/submissions",
            json={"form": {"name": "Pat", "email": "pat@shop.test"}},
            headers=xff("request"),
        )
        assert started.status_code == 201, started.text


DOORS = ("rest", "tus", "dav", "web", "link", "request")


def test_forwarded_for_from_an_untrusted_peer_never_reaches_the_audit(settings: Settings, token: str) -> None:
    spoofed = {door: f"203.0.113.{i}" for i, door in enumerate(DOORS, start=1)}
    proc, url = start(settings)
    try:
        use_every_door(url, token, spoofed)
    finally:
        stop(proc)
    assert audit_ips(settings) == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client(
    settings: Settings, token: str
) -> None:
    # The client wrote 192.0.2.66 itself; the proxy appended the real peer; a second proxy hop is ours.
    chains = {door: f"192.0.2.66, 198.51.100.{i}, 127.0.0.9" for i, door in enumerate(DOORS, start=1)}
    proc, url = start(settings, extra_env={"STRONGROOM_SERVER__TRUSTED_PROXIES": '["127.0.0.0/8"]'})
    try:
        use_every_door(url, token, chains)
    finally:
        stop(proc)
    assert audit_ips(settings) == {f"198.51.100.{i}" for i in range(1, len(DOORS) + 1)}


@pytest.fixture
def slow_server(settings: Settings) -> Iterator[tuple[int, str]]:
    proc, url = start(
        settings,
        extra_env={
            "STRONGROOM_SERVER__HEADER_TIMEOUT_SECONDS": "2",
            "STRONGROOM_SERVER__BODY_TIMEOUT_SECONDS": "2",
            "STRONGROOM_SERVER__BODY_MIN_RATE_BYTES": "100",
        },
    )
    try:
        yield int(url.rsplit(":", 1)[1]), url
    finally:
        stop(proc)


def trickle(port: int, head: bytes, body: bytes, *, limit: float) -> tuple[int, bool]:
    """Send `head` at once (if any) and then `body` one byte a second; (bytes sent, dropped by server)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        sock.sendall(head)
        deadline = time.monotonic() + limit
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                return sent, True
            sent += 1
            sock.settimeout(1)
            try:
                if sock.recv(4096) == b"":
                    return sent, True
            except TimeoutError:
                pass
            except ConnectionResetError:
                return sent, True
            if time.monotonic() > deadline:
                return sent, False
    return sent, False


def test_a_client_sending_headers_one_byte_a_second_is_dropped(slow_server: tuple[int, str]) -> None:
    port, url = slow_server
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    sent, dropped = trickle(port, b"", request, limit=60)
    assert dropped, "the server kept a header trickle open"
    assert sent < len(request)
    assert httpx.get(f"{url}/healthz").status_code == 200  # the server itself is fine


def test_a_client_sending_a_body_one_byte_a_second_is_dropped(
    slow_server: tuple[int, str], settings: Settings, token: str
) -> None:
    port, url = slow_server
    body = os.urandom(300)
    head = (
        "PUT /api/v1/folders/root/files/slow.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sent, dropped = trickle(port, head, body, limit=60)
    assert dropped, "the server kept a body trickle open"
    assert sent < len(body)
    # A normal client on the same server is unaffected, and nothing half-sent was stored.
    listing = httpx.get(f"{url}/api/v1/folders/root/items", headers={"Authorization": f"Bearer {token}"})
    assert [item["name"] for item in listing.json()["items"]] == []
    # 20 MiB at full speed: the app falls behind (reading pauses), which is not the client's fault.
    fast = httpx.put(
        f"{url}/api/v1/folders/root/files/fast.bin",
        content=os.urandom(20 << 20),
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert fast.status_code == 201, fast.text


def test_serve_takes_host_and_port_from_the_config_file_unless_a_flag_is_given(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "strongroom.toml"
    config.write_text(f'[server]\nhost = "127.0.0.1"\nport = {port}\n')
    proc, url = start(settings, extra_env={"STRONGROOM_CONFIG": str(config)}, port=port, args=())
    try:
        assert url == f"http://127.0.0.1:{port}"
    finally:
        out = stop(proc)
    assert f"Strongroom is running at http://127.0.0.1:{port}/" in out

    flagged = free_port()
    proc, url = start(
        settings, extra_env={"STRONGROOM_CONFIG": str(config)}, port=flagged, args=("--port", str(flagged))
    )
    try:
        assert httpx.get(f"{url}/healthz").status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        stop(proc)
