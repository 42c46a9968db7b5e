"""`strongroom import`: a share drive and a mail export brought in as an operator would, resumably."""

from __future__ import annotations

import csv
import hashlib
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.config import Settings
from strongroom.runtime import Runtime
from tests.cli.test_server_cli import run_cli
from tests.support.users import UserFixture

WRITTEN = datetime(2019, 5, 1, 9, 30, tzinfo=UTC)


def _share(root: Path) -> dict[str, bytes]:
    files = {
        "Case 1/statement.txt": b"I saw the van at 22:10.",
        "Case 1/photos/scene.jpg": os.urandom(300_000),
        "Case 1/photos/empty.bin": b"",
        "README.txt": b"share root",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (WRITTEN.timestamp(), WRITTEN.timestamp()))
    message = EmailMessage()
    message["From"] = "witness@example.test"
    message["To"] = "officer@force.police.test"
    message["Subject"] = "Dashcam"
    message["Date"] = "Tue, 02 Apr 2024 08:15:00 +0000"
    message.set_content("Footage attached.")
    message.add_attachment(b"video-bytes" * 1000, maintype="video", subtype="mp4", filename="dashcam.mp4")
    message.add_attachment(b"second", maintype="application", subtype="octet-stream", filename="DASHCAM.mp4")
    (root / "mail").mkdir()
    (root / "mail" / "m1.eml").write_bytes(bytes(message))
    files["mail/m1.eml"] = bytes(message)
    return files


def _report(stdout: str) -> list[dict[str, str]]:
    path = Path(stdout.strip().rsplit("report: ", 1)[1])
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_import_keeps_names_times_and_hashes_and_resumes(
    settings: Settings, runtime: Runtime, client: TestClient, alice: UserFixture, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    files = _share(share)
    first = run_cli(settings, "import", str(share), "--into", "Case 42/Imports", "--as", alice.email)
    assert (
        "imported 7, skipped 0 (done before), failed 0" in first.stdout
    )  # 5 files, 1 message, 2 attachments
    rows = {row["source"]: row for row in _report(first.stdout)}
    for rel, data in files.items():
        assert rows[rel]["status"] == "imported"
        assert rows[rel]["sha256"] == hashlib.sha256(data).hexdigest()
        assert rows[rel]["stored_as"] == rel
    assert rows["Case 1/statement.txt"]["modified_at"] == WRITTEN.isoformat()
    assert rows["mail/m1.eml#1"]["stored_as"] == "mail/m1 (attachments)/dashcam.mp4"
    assert rows["mail/m1.eml#2"]["stored_as"] == "mail/m1 (attachments)/DASHCAM (2).mp4"  # names clash
    assert rows["mail/m1.eml#1"]["modified_at"] == "2024-04-02T08:15:00+00:00"  # the message's date

    # What the user sees: the tree below the target, the same bytes.
    file_id = rows["Case 1/photos/scene.jpg"]["file_id"]
    got = client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers)
    assert got.content == files["Case 1/photos/scene.jpg"]
    parent = client.get(f"/api/v1/files/{file_id}", headers=alice.headers).json()["parent_id"]
    path = [p["name"] for p in client.get(f"/api/v1/folders/{parent}", headers=alice.headers).json()["path"]]
    assert path[-4:] == ["Case 42", "Imports", "Case 1", "photos"]

    # Audited: each file names its source and original time; the run its counts and report.
    with runtime.engine.connect() as connection:
        imported = connection.execute(
            select(AuditEvent.details).where(AuditEvent.action == "content.file.imported")
        ).scalars().all()  # fmt: skip
        finished = connection.execute(
            select(AuditEvent.details).where(AuditEvent.action == "content.import.finished")
        ).scalars().all()  # fmt: skip
    assert len(imported) == 7
    assert any("2019-05-01T09:30:00+00:00" in str(details) for details in imported)
    assert len(finished) == 1

    # Resumable: a second run skips what is done; a changed and a new file are taken.
    again = run_cli(settings, "import", str(share), "--into", "Case 42/Imports", "--as", alice.email)
    assert "imported 0, skipped 7 (done before), failed 0" in again.stdout
    (share / "Case 1" / "statement.txt").write_bytes(b"I saw the van at 22:12 (corrected).")
    (share / "Case 1" / "late.txt").write_bytes(b"arrived later")
    third = run_cli(settings, "import", str(share), "--into", "Case 42/Imports", "--as", alice.email)
    assert "imported 2, skipped 6 (done before), failed 0" in third.stdout
    changed = {row["source"]: row for row in _report(third.stdout)}["Case 1/statement.txt"]
    assert changed["file_id"] == rows["Case 1/statement.txt"]["file_id"]  # a new version of the same file
    versions = client.get(f"/api/v1/files/{changed['file_id']}/versions", headers=alice.headers).json()
    assert len(versions["versions"] if isinstance(versions, dict) else versions) == 2


def test_import_refuses_an_unknown_user_and_a_missing_source(
    settings: Settings, alice: UserFixture, tmp_path: Path
) -> None:
    nobody = run_cli(
        settings, "import", str(tmp_path), "--into", "X", "--as", "nobody@force.police.test", check=False
    )
    assert nobody.returncode != 0
    assert "no user nobody@force.police.test" in nobody.stderr
    missing = run_cli(
        settings, "import", str(tmp_path / "gone"), "--into", "X", "--as", alice.email, check=False
    )
    assert missing.returncode != 0
    assert "does not exist" in missing.stderr


def test_a_file_swapped_for_a_link_while_importing_is_refused(tmp_path: Path) -> None:
    """A share drive is written by others while it is imported: a file replaced by a symbolic link to a
    server file (made to look the same size and age) between the walk and the read must not be read."""
    import pytest

    from strongroom.content import importing
    from strongroom.errors import InputError

    share = tmp_path / "share"
    share.mkdir()
    server_secret = tmp_path / "keys.json"
    server_secret.write_bytes(b'{"kek": "not for the evidence store"}')
    bait = share / "statement.txt"
    bait.write_bytes(b"x" * server_secret.stat().st_size)
    os.utime(bait, ns=(server_secret.stat().st_atime_ns, server_secret.stat().st_mtime_ns))
    (source,) = importing.walk(share)
    bait.unlink()
    bait.symlink_to(server_secret)
    with pytest.raises((InputError, OSError)):
        b"".join(bytes(chunk) for chunk in source.read())
