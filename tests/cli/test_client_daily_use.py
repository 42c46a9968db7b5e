"""The client as an investigator uses it every day: folders by path, SHA-256 printed for every upload,
JSON lines for scripts, the token from the environment, the version, and messages instead of
tracebacks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from strongroom import __version__
from strongroom.cli import app
from strongroom.content.models import FileVersion, Item
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.live import LiveServer
from tests.support.users import UserFixture


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("STRONGROOM_CLIENT_DIR", str(tmp_path / "client-config"))
    monkeypatch.delenv("STRONGROOM_TOKEN", raising=False)
    monkeypatch.delenv("STRONGROOM_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.fixture
def with_token(
    cli: CliRunner, live_server: LiveServer, alice: UserFixture, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    monkeypatch.setenv("STRONGROOM_TOKEN", alice.token)
    monkeypatch.setenv("STRONGROOM_URL", live_server.url)
    return cli


def test_version(cli: CliRunner) -> None:
    result = cli.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"strongroom {__version__}"


def test_the_token_comes_from_the_environment(
    cli: CliRunner, live_server: LiveServer, alice: UserFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.invoke(app, ["ls"]).exit_code == 3  # nothing saved, nothing set
    monkeypatch.setenv("STRONGROOM_TOKEN", alice.token)
    no_server = cli.invoke(app, ["ls"])
    assert no_server.exit_code == 2
    assert "STRONGROOM_URL" in no_server.output
    assert "Traceback" not in no_server.output
    monkeypatch.setenv("STRONGROOM_URL", live_server.url)
    assert cli.invoke(app, ["ls"]).exit_code == 0
    monkeypatch.setenv("STRONGROOM_TOKEN", "sr_wrong")
    assert cli.invoke(app, ["ls"]).exit_code == 3


def test_upload_into_a_folder_by_path_prints_each_sha256(
    with_token: CliRunner, live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    clip, still = tmp_path / "cam1.mp4", tmp_path / "still.jpg"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000)
    still.write_bytes(b"\xff\xd8\xff" + b"y" * 100)
    result = with_token.invoke(app, ["upload", "Op KESTREL/CCTV", str(clip), str(still)])
    assert result.exit_code == 0, result.output
    for path in (clip, still):
        assert f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path}" in result.output  # sha256sum -c
    assert "2 uploaded, 0 unchanged" in result.output

    listed = with_token.invoke(app, ["ls", "op kestrel/cctv", "--json"])  # names match as the server's do
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {row["name"]: row["sha256"] for row in rows} == {
        "cam1.mp4": hashlib.sha256(clip.read_bytes()).hexdigest(),
        "still.jpg": hashlib.sha256(still.read_bytes()).hexdigest(),
    }

    again = with_token.invoke(app, ["upload", str(clip), "--to", "Op KESTREL/CCTV", "--json"])
    assert again.exit_code == 0, again.output
    [line] = again.stdout.splitlines()
    assert json.loads(line) | {"id": None} == {
        "path": str(clip),
        "id": None,
        "sha256": hashlib.sha256(clip.read_bytes()).hexdigest(),
        "status": "unchanged",
    }

    target = tmp_path / "back.mp4"
    down = with_token.invoke(app, ["download", "Op KESTREL/CCTV/cam1.mp4", "-o", str(target), "--json"])
    assert down.exit_code == 0, down.output
    assert json.loads(down.stdout)["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert target.read_bytes() == clip.read_bytes()

    missing = with_token.invoke(app, ["download", "Op KESTREL/CCTV/none.mp4"])
    assert missing.exit_code == 4
    assert "No file 'Op KESTREL/CCTV/none.mp4'" in missing.output
    nowhere = with_token.invoke(app, ["upload", "Op KESTREL", str(tmp_path / "gone.mp4")])
    assert nowhere.exit_code == 2
    assert "No such file or directory" in nowhere.output


def test_a_file_not_ready_is_explained_not_a_traceback(
    with_token: CliRunner, live_server: LiveServer, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as http:
        file_id = http.put("/api/v1/folders/root/files/mg11.docx", content=b"PK statement").json()["id"]
    with transaction(runtime.sessions) as session:  # as while the virus scanner has not answered yet
        session.execute(
            update(FileVersion).where(FileVersion.file_id == file_id).values(scan_status="pending")
        )
        session.execute(update(Item).where(Item.id == file_id).values(scan_status="pending"))
    pending = with_token.invoke(app, ["download", "mg11.docx", "-o", str(tmp_path / "mg11.docx")])
    assert pending.exit_code == 1
    assert "mg11.docx is waiting for its virus scan" in pending.output
    assert "Traceback" not in pending.output

    with transaction(runtime.sessions) as session:  # a file whose first upload has not finished
        session.execute(
            update(Item)
            .where(Item.id == file_id)
            .values(current_version_id=None, size=0, sha256=None, scan_status=None)
        )
    empty = with_token.invoke(app, ["download", file_id, "-o", str(tmp_path / "mg11.docx")])
    assert empty.exit_code == 4, empty.output
    assert "has no content yet" in empty.output
    assert not (tmp_path / "mg11.docx").exists()
