"""`strongroom search` against a live server: words and metadata queries, only what you may see."""

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from strongroom.cli import app
from tests.support.live import LiveServer
from tests.support.users import UserFixture


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("STRONGROOM_CLIENT_DIR", str(tmp_path / "client-config"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_search_from_the_command_line(
    cli: CliRunner, live_server: LiveServer, alice: UserFixture, bob: UserFixture
) -> None:
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as http:
        assert http.put("/api/v1/folders/root/files/heron-statement.txt", content=b"x").is_success
    with httpx.Client(base_url=live_server.url, headers=bob.headers) as http:
        assert http.put("/api/v1/folders/root/files/heron-bob.txt", content=b"x").is_success
    assert cli.invoke(app, ["login", live_server.url, "--token", alice.token]).exit_code == 0
    result = cli.invoke(app, ["search", "heron"])
    assert result.exit_code == 0, result.output
    assert "heron-statement.txt" in result.output
    assert "heron-bob.txt" not in result.output
    assert "1 found" in result.output
    by_query = cli.invoke(
        app, ["search", "--where", "name = :n", "--param", "n=heron-statement.txt", "--json"]
    )
    assert by_query.exit_code == 0, by_query.output
    assert '"name": "heron-statement.txt"' in by_query.output
    bad = cli.invoke(app, ["search", "--where", "name = ("])
    assert bad.exit_code != 0
    assert "character" in bad.output
