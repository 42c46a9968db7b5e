"""A live `strongroom serve` whose keys are in a SoftHSM2 token: files round-trip, `keys rotate`
works beside it, and the force's kill switch (disabling the key in the HSM) stops every read and
upload with 503 key_provider_unavailable until the key is enabled again, with no restart."""

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import httpx
import pytest

from strongroom.config import Settings
from tests.cli.test_server_cli import run_cli, start_server, stop
from tests.support.softhsm import MODULE, USER_PIN, Token, new_token


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Token:
    hsm = new_token()
    monkeypatch.setenv("SOFTHSM2_CONF", str(hsm.conf))
    monkeypatch.setenv("STRONGROOM_KEYS__URL", hsm.url())
    monkeypatch.setenv("STRONGROOM_KEYS__PIN", USER_PIN)
    monkeypatch.setenv("STRONGROOM_KEYS__UNWRAP_CACHE_SECONDS", "1")
    return hsm


def _set_unwrap(hsm: Token, *, allowed: bool) -> None:
    """What the force's HSM administrator does with their own tool."""
    script = textwrap.dedent(
        f"""
        import pkcs11
        from pkcs11 import Attribute, ObjectClass
        token = pkcs11.lib({MODULE!r}).get_token(token_label={hsm.label!r})
        with token.open(user_pin={USER_PIN!r}, rw=True) as session:
            query = {{Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: "kek"}}
            for key in session.get_objects(query):
                key[Attribute.UNWRAP] = {allowed!r}
                key[Attribute.WRAP] = {allowed!r}
        """
    )
    subprocess.run([sys.executable, "-c", script], env=hsm.environment(), check=True)


def _until(status: int, request: Callable[[], httpx.Response]) -> httpx.Response:
    deadline = time.monotonic() + 120
    while True:
        response = request()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_files_round_trip_and_the_kill_switch_stops_reads(settings: Settings, token: Token) -> None:
    bearer = run_cli(settings, "users", "create", "officer@force.police.test", "--token").stdout.strip()
    headers = {"Authorization": f"Bearer {bearer}"}
    data = os.urandom(300_000)
    proc, url = start_server(settings)
    try:
        put = httpx.put(
            f"{url}/api/v1/folders/root/files/call.wav", content=data, headers=headers, timeout=120
        )
        assert put.status_code == 201, put.text
        content = f"{url}/api/v1/files/{put.json()['id']}/content"
        assert httpx.get(content, headers=headers, timeout=120).content == data
        assert "kek-" in run_cli(settings, "keys", "list").stdout

        _set_unwrap(token, allowed=False)
        refused = _until(503, lambda: httpx.get(content, headers=headers, timeout=120))
        assert refused.status_code == 503
        assert refused.json()["code"] == "key_provider_unavailable"
        upload = httpx.put(
            f"{url}/api/v1/folders/root/files/more.bin", content=b"x" * 1000, headers=headers, timeout=120
        )
        assert upload.status_code == 503
        assert upload.json()["code"] == "key_provider_unavailable"

        _set_unwrap(token, allowed=True)
        back = _until(200, lambda: httpx.get(content, headers=headers, timeout=120))
        assert back.status_code == 200
        assert back.content == data

        assert "re-wrapped 1 data keys" in run_cli(settings, "keys", "rotate").stdout
        assert httpx.get(content, headers=headers, timeout=120).content == data
    finally:
        stop(proc)
    assert run_cli(settings, "verify").stdout.strip() == "checked 1 versions and 0 renditions, 0 failed"
