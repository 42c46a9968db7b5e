"""The `strongroom` client commands against a live server, through typer's CliRunner."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from strongroom.cli import app
from strongroom.cli.client_transfers import ResumeStore, tus_upload
from strongroom.content.models import TusUpload
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.live import LiveServer
from tests.support.users import UserFixture


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("STRONGROOM_CLIENT_DIR", str(tmp_path / "client-config"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.fixture
def signed_in(cli: CliRunner, live_server: LiveServer, alice: UserFixture) -> CliRunner:
    result = cli.invoke(app, ["login", live_server.url, "--token", alice.token])
    assert result.exit_code == 0, result.output
    return cli


def items(live_server: LiveServer, user: UserFixture, folder: str = "root") -> dict[str, dict[str, object]]:
    with httpx.Client(base_url=live_server.url, headers=user.headers) as http:
        return {i["name"]: i for i in http.get(f"/api/v1/folders/{folder}/items").json()["items"]}


def test_login_saves_the_token_privately(
    cli: CliRunner, live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    refused = cli.invoke(app, ["login", live_server.url, "--token", "not-a-token"])
    assert refused.exit_code == 3
    assert cli.invoke(app, ["ls"]).exit_code == 3  # never signed in
    assert cli.invoke(app, ["login", "ftp://x", "--token", "t"]).exit_code == 2

    result = cli.invoke(app, ["login", live_server.url, "--token", alice.token])
    assert result.exit_code == 0
    assert alice.email in result.output
    saved = tmp_path / "client-config" / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["token"] == alice.token
    assert cli.invoke(app, ["ls"]).exit_code == 0


def test_upload_a_tree_then_skip_unchanged_files(
    signed_in: CliRunner, live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    tree = tmp_path / "case-123"
    (tree / "cctv" / "camera-2").mkdir(parents=True)
    files = {
        tree / "statement.txt": b"I saw it happen.\n",
        tree / "cctv" / "front.bin": os.urandom(300_000),
        tree / "cctv" / "camera-2" / "rear.bin": os.urandom(70_000),
        tree / "empty.txt": b"",
    }
    for path, data in files.items():
        path.write_bytes(data)

    first = signed_in.invoke(app, ["upload", str(tree), "--to", "root", "--parallel", "3"])
    assert first.exit_code == 0, first.output
    assert "4 uploaded, 0 unchanged" in first.output
    case = items(live_server, alice)["case-123"]
    top = items(live_server, alice, str(case["id"]))
    assert top["statement.txt"]["sha256"] == hashlib.sha256(files[tree / "statement.txt"]).hexdigest()
    assert top["empty.txt"]["size"] == 0
    cctv = items(live_server, alice, str(top["cctv"]["id"]))
    rear = items(live_server, alice, str(cctv["camera-2"]["id"]))["rear.bin"]
    assert rear["sha256"] == hashlib.sha256(files[tree / "cctv" / "camera-2" / "rear.bin"]).hexdigest()

    again = signed_in.invoke(app, ["upload", str(tree), "--to", "root"])
    assert again.exit_code == 0, again.output
    assert "0 uploaded, 4 unchanged" in again.output
    (tree / "statement.txt").write_bytes(b"I saw it happen. Amended.\n")
    third = signed_in.invoke(app, ["upload", str(tree), "--to", "root"])
    assert "1 uploaded, 3 unchanged" in third.output
    assert items(live_server, alice, str(case["id"]))["statement.txt"]["size"] == 26


def test_upload_resumes_an_interrupted_upload(
    signed_in: CliRunner, live_server: LiveServer, alice: UserFixture, tmp_path: Path, runtime: Runtime
) -> None:
    source = tmp_path / "interview.bin"
    data = os.urandom(400_000)
    source.write_bytes(data)
    store = ResumeStore(tmp_path / "client-config" / "uploads.json")

    class Cut(Exception):
        pass

    def cut_after_first_chunk(sent: int) -> None:
        if sent > 0:
            raise Cut

    with httpx.Client(base_url=live_server.url, headers=alice.headers) as http, pytest.raises(Cut):
        tus_upload(
            http, source, folder_id="root", resume=store, progress=cut_after_first_chunk, chunk_bytes=150_000
        )
    [started] = list(json.loads((tmp_path / "client-config" / "uploads.json").read_text()).values())

    result = signed_in.invoke(app, ["upload", str(source), "--to", "root"])
    assert result.exit_code == 0, result.output
    assert items(live_server, alice)["interview.bin"]["sha256"] == hashlib.sha256(data).hexdigest()
    with transaction(runtime.sessions) as session:
        [upload] = session.scalars(select(TusUpload)).all()
    assert started.endswith(upload.id)  # the same tus upload was continued, not a new one
    assert json.loads((tmp_path / "client-config" / "uploads.json").read_text()) == {}


def test_download_verifies_and_resumes(
    signed_in: CliRunner, live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    data = os.urandom(500_000)
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as http:
        file_id = http.put("/api/v1/folders/root/files/video.bin", content=data).json()["id"]
    target = tmp_path / "out" / "video.bin"
    target.parent.mkdir()

    part = target.with_name("video.bin.part")
    part.write_bytes(data[:123_456])  # an earlier, interrupted download
    result = signed_in.invoke(app, ["download", file_id, "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    assert target.read_bytes() == data
    assert not part.exists()

    # A part file that does not match the server's bytes is continued, fails the hash, and is removed.
    target.unlink()
    part.write_bytes(b"\x00" * 1000)
    bad = signed_in.invoke(app, ["download", file_id, "-o", str(target)])
    assert bad.exit_code == 1
    assert "differs" in bad.output
    assert not part.exists()
    assert not target.exists()
    assert signed_in.invoke(app, ["download", file_id, "-o", str(target)]).exit_code == 0
    assert target.read_bytes() == data

    assert signed_in.invoke(app, ["download", "fi_doesnotexist", "-o", str(target)]).exit_code == 4


def test_share_request_and_report(signed_in: CliRunner, live_server: LiveServer, alice: UserFixture) -> None:
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as http:
        file_id = http.put("/api/v1/folders/root/files/999-call.wav", content=b"RIFF").json()["id"]
        folder_id = http.post("/api/v1/folders", json={"name": "Incident 42", "parent_id": "root"}).json()[
            "id"
        ]

    link = signed_in.invoke(
        app,
        [
            "share",
            file_id,
            "--access",
            "anyone",
            "--expires-in-days",
            "7",
            "--preview-only",
            "--password",
            "correct horse",
            "--download-limit",
            "3",
            "--name",
            "CPS",
        ],
    )
    assert link.exit_code == 0, link.output
    assert "/s/" in link.output.strip()
    assert signed_in.invoke(app, ["share", file_id, "--access", "everyone"]).exit_code == 2
    assert signed_in.invoke(app, ["share", "fi_doesnotexist"]).exit_code == 4

    upload_request = signed_in.invoke(
        app, ["request", folder_id, "--title", "CCTV for incident 42", "--single-use"]
    )
    assert upload_request.exit_code == 0, upload_request.output
    assert "/r/" in upload_request.output

    report = signed_in.invoke(app, ["report", file_id, "--json", "--reason", "Disclosure check"])
    assert report.exit_code == 0, report.output
    assert "content.file.created" in report.output
    assert "sharing.link.created" in report.output
    assert signed_in.invoke(app, ["report", file_id, "--reason", "Disclosure check"]).exit_code == 0
    assert signed_in.invoke(app, ["report", file_id]).exit_code == 2  # a read of the trail states why


def test_classified_material_is_downloaded_and_shared_with_a_reason(
    signed_in: CliRunner, live_server: LiveServer, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as http:
        file_id = http.put("/api/v1/folders/root/files/source.txt", content=b"source").json()["id"]
        r = http.put(
            f"/api/v1/items/{file_id}/classification", json={"classification": "SECRET", "reason": "x"}
        )
        assert r.status_code == 200, r.text
    target = tmp_path / "source.txt"
    refused = signed_in.invoke(app, ["download", file_id, "-o", str(target)])
    assert refused.exit_code != 0
    assert "reason" in refused.output
    done = signed_in.invoke(
        app, ["download", file_id, "-o", str(target), "--reason", "Opération Trident review"]
    )
    assert done.exit_code == 0, done.output
    assert target.read_bytes() == b"source"
    shared = signed_in.invoke(app, ["share", file_id, "--access", "force", "--reason", "to CPS"])
    assert shared.exit_code != 0  # SECRET is never shared by a link, whatever the reason
    assert "SECRET" in shared.output
    with runtime.engine.connect() as connection:
        reasons = [
            row[0]
            for row in connection.exec_driver_sql(
                "SELECT reason FROM audit_event WHERE action = 'content.version.read'"
            )
        ]
    assert reasons == ["Opération Trident review"]


@pytest.mark.parametrize("name", ["..\\..\\Startup\\evil.bat", "C:evil.exe", "C:\\Windows\\x.dll", " .. "])
def test_a_downloaded_file_is_saved_here_whatever_its_name(name: str) -> None:
    """Names on the server may hold backslashes and colons (they are legal there): another user sharing
    a file named like a Windows path must not make `strongroom download` write outside this folder."""
    from pathlib import PureWindowsPath

    from strongroom.cli.client_transfers import local_name

    saved = local_name(name)
    for flavour in (PureWindowsPath(saved), Path(saved)):
        assert len(flavour.parts) == 1
        assert not flavour.drive
        assert flavour.name not in {"", ".", ".."}
