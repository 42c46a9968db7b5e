"""`strongroom users scim-token` issues the token the directory uses; stdout is only the token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from strongroom.cli import app
from strongroom.config import Settings


def test_the_cli_issues_a_provisioning_token(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRONGROOM_DEV_MODE", "1")
    monkeypatch.setenv("STRONGROOM_DATABASE__URL", settings.database.url)
    monkeypatch.setenv("STRONGROOM_SECRET_KEY", settings.secret_key)
    result = CliRunner().invoke(
        app, ["users", "scim-token", "--name", "Entra ID", "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("srscim_")
    answer = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/scim+json")
