"""`strongroom db`: schema changes happen when the operator asks (or on the embedded database's serve).

Every other command on a database that is not at head stops with exit 2 and names the command to run.
"""

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from strongroom.config import Settings
from strongroom.db.migrate import head_revision
from tests.cli.test_server_cli import STRONGROOM, run_cli, stop
from tests.support.live import free_port


def _plain(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout + result.stderr


def test_a_command_on_an_older_schema_names_the_upgrade(settings: Settings) -> None:
    run_cli(settings, "db", "downgrade", "--", "-1")

    refused = run_cli(settings, "users", "create", "officer@force.police.test", check=False)
    assert refused.returncode == 2
    assert "strongroom db upgrade" in _plain(refused)
    worker = run_cli(settings, "worker", check=False)  # exits at once: it would not write to it
    assert worker.returncode == 2
    assert "strongroom db upgrade" in _plain(worker)
    current = run_cli(settings, "db", "current", check=False)
    assert current.returncode == 1
    assert "behind" in current.stdout

    assert head_revision() in run_cli(settings, "db", "upgrade").stdout
    assert run_cli(settings, "db", "current").returncode == 0
    run_cli(settings, "users", "create", "officer@force.police.test")


def _serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [*STRONGROOM, "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"server did not start: {stop(proc, kill=True)}")


def test_readme_first_run_serve_migrates_the_embedded_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "strongroom-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env |= {"STRONGROOM_DEV_MODE": "1", "STRONGROOM_DATA_DIR": str(data_dir)}
    before = subprocess.run(
        [*STRONGROOM, "users", "create", "officer@force.police.test", "--token"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert before.returncode == 2
    assert "strongroom serve" in _plain(before)

    proc, url = _serve(env)
    try:
        token = subprocess.run(
            [*STRONGROOM, "users", "create", "officer@force.police.test", "--token"],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        ).stdout.strip()  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"}
        put = httpx.put(f"{url}/api/v1/folders/root/files/a.txt", content=b"first run", headers=headers)
        assert put.status_code == 201, put.text
    finally:
        stop(proc)


def test_serve_leaves_a_configured_database_alone_unless_told(
    settings: Settings, empty_database_url: str
) -> None:
    configured = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": empty_database_url})}
    )
    port = str(free_port())
    refused = run_cli(configured, "serve", "--port", port, check=False)
    assert refused.returncode == 2
    assert "strongroom db upgrade" in _plain(refused)

    # Both directions through the command an operator runs: empty -> head -> base -> head.
    run_cli(configured, "db", "upgrade")
    assert "(empty)" in run_cli(configured, "db", "downgrade", "base").stdout
    assert run_cli(configured, "db", "current", check=False).returncode == 1

    from tests.cli.test_server_cli import cli_env

    proc, _ = _serve(cli_env(configured), "--migrate")
    stop(proc)
    assert "current" in run_cli(configured, "db", "current").stdout
