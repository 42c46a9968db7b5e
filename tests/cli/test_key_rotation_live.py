"""`strongroom keys rotate` run beside a live `strongroom serve`: no download answers 503, no upload is lost.

The server and the CLI are separate processes sharing one data dir, as on an operator's host. A slow
upload is still streaming when the rotation happens; it must be readable after the old key is retired
and the server restarted.
"""

import hashlib
import os
import threading
from collections.abc import Iterator

import httpx
import pytest

from strongroom.config import Settings
from tests.cli.test_server_cli import run_cli, start_server, stop


@pytest.fixture
def token(settings: Settings) -> str:
    return run_cli(settings, "users", "create", "officer@force.police.test", "--token").stdout.strip()


def _upload(url: str, headers: dict[str, str], name: str, data: bytes | Iterator[bytes]) -> str:
    response = httpx.put(
        f"{url}/api/v1/folders/root/files/{name}", content=data, headers=headers, timeout=120
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def _download(url: str, headers: dict[str, str], file_id: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/files/{file_id}/content", headers=headers, timeout=120)


def _kek_lines(settings: Settings) -> list[str]:
    return run_cli(settings, "keys", "list").stdout.splitlines()


def test_rotation_beside_a_running_server_loses_no_file(settings: Settings, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    files: dict[str, bytes] = {}
    ids: dict[str, str] = {}
    half_sent, rotated = threading.Event(), threading.Event()
    streamed = os.urandom(400_000)

    def slow_body() -> Iterator[bytes]:
        yield streamed[:200_000]
        half_sent.set()
        assert rotated.wait(120)
        yield streamed[200_000:]

    proc, url = start_server(settings)
    try:
        files["before.bin"] = os.urandom(300_000)
        ids["before.bin"] = _upload(url, headers, "before.bin", files["before.bin"])
        old_keks = [line.split()[0] for line in _kek_lines(settings)]

        upload = threading.Thread(
            target=lambda: ids.__setitem__("streamed.bin", _upload(url, headers, "streamed.bin", slow_body()))
        )
        upload.start()
        assert half_sent.wait(60)
        out = run_cli(settings, "keys", "rotate").stdout
        assert "re-wrapped" in out
        rotated.set()
        upload.join(120)
        files["streamed.bin"] = streamed

        for name, file_id in ids.items():  # the server meets the new key id and reads it from the key file
            response = _download(url, headers, file_id)
            assert response.status_code == 200, response.text
            assert response.content == files[name]
        files["after.bin"] = os.urandom(300_000)
        ids["after.bin"] = _upload(url, headers, "after.bin", files["after.bin"])
        assert _download(url, headers, ids["after.bin"]).content == files["after.bin"]
    finally:
        stop(proc)

    # The grace period keeps the old key until nothing can still be wrapped with it.
    listed = "\n".join(_kek_lines(settings))
    assert all(kek in listed for kek in old_keks)
    retired = run_cli(settings, "keys", "retire", "--grace-seconds", "0").stdout
    assert all(f"retired {kek}" in retired for kek in old_keks), retired
    assert not any(kek in "\n".join(_kek_lines(settings)) for kek in old_keks)

    proc, url = start_server(settings)
    try:
        for name, file_id in ids.items():
            response = _download(url, headers, file_id)
            assert response.status_code == 200, f"{name}: {response.text}"
            assert hashlib.sha256(response.content).hexdigest() == hashlib.sha256(files[name]).hexdigest()
    finally:
        stop(proc)
    assert (
        run_cli(settings, "verify").stdout.strip()
        == f"checked {len(files)} versions and 0 renditions, 0 failed"
    )
