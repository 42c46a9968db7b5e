"""The operator's commands, run as an operator would: serve, users create, keys rotate, verify, gc."""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from strongroom.config import Settings
from tests.support.live import free_port

STRONGROOM = [sys.executable, "-m", "strongroom"]


def cli_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "STRONGROOM_DEV_MODE": "1",
        "STRONGROOM_DATA_DIR": str(settings.data_dir),
        "STRONGROOM_DATABASE__URL": settings.database_url,
        "STRONGROOM_LIMITS__SEGMENT_BYTES": str(64 * 1024),
        **({"STRONGROOM_BLOBS__URL": settings.blobs.url} if settings.blobs.url else {}),
    }


def run_cli(
    settings: Settings, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*STRONGROOM, *args],
        env={**cli_env(settings), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"strongroom {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def start_server(settings: Settings) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [*STRONGROOM, "serve", "--port", str(port)],
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # the shared machine is slow; start-up waits are >= 120 s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"server did not start: {stop(proc, kill=True)}")


def stop(proc: subprocess.Popen[str], *, kill: bool = False) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    return out or ""


def blob_files(settings: Settings) -> list[Path]:
    root = settings.blob_path
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def token(settings: Settings) -> str:
    out = run_cli(settings, "users", "create", "officer@force.police.test", "--token").stdout.strip()
    assert out.startswith("srpat_")
    return out


def test_serve_prints_url_and_bootstrap_login(settings: Settings) -> None:
    proc, url = start_server(settings)
    try:
        assert httpx.get(f"{url}/api/v1/openapi.json").json()["info"]["title"] == "Strongroom"
    finally:
        out = stop(proc)
    assert f"Strongroom is running at {url}/" in out
    assert "Sign in as admin@strongroom.local with password " in out
    password_file = settings.data_dir / "admin-password.txt"
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"


def test_insecure_settings_are_refused_outside_dev_mode(settings: Settings) -> None:
    env = {
        **cli_env(settings),
        "STRONGROOM_DEV_MODE": "0",
        "STRONGROOM_SERVER__PUBLIC_URL": "http://evidence.example.org",
    }
    result = subprocess.run(
        [*STRONGROOM, "verify"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "plain HTTP" in result.stderr


def test_sigkill_mid_upload_leaves_no_file_and_gc_removes_the_orphan(settings: Settings, token: str) -> None:
    proc, url = start_server(settings)
    port = int(url.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                (
                    "PUT /api/v1/folders/root/files/bodycam.mp4 HTTP/1.1\r\n"
                    f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
                ).encode()
            )
            for _ in range(40):  # 10 MiB of a 50 MiB body
                sock.sendall(os.urandom(256 * 1024))
            time.sleep(0.5)
            partial_bytes = sum(p.stat().st_size for p in blob_files(settings))
            assert partial_bytes > 0, "the server should have been writing the sealed blob"
            stop(proc, kill=True)
    finally:
        stop(proc, kill=True)
    proc, url = start_server(settings)
    try:
        listing = httpx.get(
            f"{url}/api/v1/folders/root/items", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert listing["items"] == []
    finally:
        stop(proc)
    assert blob_files(settings), "the orphaned partial blob is still on disk before GC"
    run_cli(settings, "gc", "--grace-minutes", "0")
    assert blob_files(settings) == []


def test_keys_rotate_rewraps_without_touching_blobs_and_verify_checks_everything(
    settings: Settings, token: str
) -> None:
    proc, url = start_server(settings)
    data = os.urandom(300_000)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        file_id = httpx.put(
            f"{url}/api/v1/folders/root/files/interview.wav", content=data, headers=headers
        ).json()["id"]
    finally:
        stop(proc)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in blob_files(settings)}
    keys_before = run_cli(settings, "keys", "list").stdout.split()

    out = run_cli(settings, "keys", "rotate", "--grace-seconds", "0").stdout
    assert "re-wrapped 1 data keys" in out
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in blob_files(settings)}
    assert after == before  # no blob byte changed
    keys_after = run_cli(settings, "keys", "list").stdout.split()
    assert keys_before[0] not in keys_after  # the old key-encryption key is gone
    assert run_cli(settings, "verify").stdout.strip() == "checked 1 versions and 0 renditions, 0 failed"

    proc, url = start_server(settings)
    try:
        assert httpx.get(f"{url}/api/v1/files/{file_id}/content", headers=headers).content == data
    finally:
        stop(proc)

    blob = next(iter(after))
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    blob.write_bytes(bytes(raw))
    result = run_cli(settings, "verify", check=False)
    assert result.returncode == 1
    assert "FAILED" in result.stderr
    assert "checked 1 versions and 0 renditions, 1 failed" in result.stdout
