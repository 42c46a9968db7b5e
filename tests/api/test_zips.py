"""Staff zips of a folder and of a selection: one streamed zip, safe entry names, each file recorded."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

from fastapi.testclient import TestClient

from strongroom.audit.events import AuditAction
from strongroom.content.zips import entry_is_safe, safe_part
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.api.test_if_range_and_interrupted_reads import BIG, _cut_download, _wait_for
from tests.support.live import LiveServer
from tests.support.users import UserFixture


def folder(client: TestClient, owner: UserFixture, name: str, parent: str = "root") -> str:
    r = client.post("/api/v1/folders", json={"name": name, "parent_id": parent}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def put(client: TestClient, owner: UserFixture, parent: str, name: str, data: bytes) -> str:
    r = client.put(f"/api/v1/folders/{parent}/files/{name}", content=data, headers=owner.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def read_events(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    import json

    from sqlalchemy import select

    from strongroom.audit.models import AuditEvent

    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [{"item_id": row.item_id, "details": json.loads(row.details)} for row in rows]


def test_a_folder_downloads_as_one_zip_with_its_subfolders_and_every_file_recorded(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    case = folder(client, alice, "Op KESTREL")
    cctv = folder(client, alice, "CCTV", case)
    put(client, alice, case, "statement.txt", b"witness statement")
    put(client, alice, cctv, "camera 1.mp4", b"\x00\x01" * 50_000)
    put(client, alice, cctv, "Zeugenaussage Müller 証拠.txt", "ünïcode".encode())

    r = client.get(f"/api/v1/folders/{case}/zip", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "Op%20KESTREL.zip" in r.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == [
        "Op KESTREL/CCTV/Zeugenaussage Müller 証拠.txt",
        "Op KESTREL/CCTV/camera 1.mp4",
        "Op KESTREL/statement.txt",
    ]
    assert archive.read("Op KESTREL/CCTV/camera 1.mp4") == b"\x00\x01" * 50_000
    reads = read_events(runtime, "content.version.read")
    assert len([e for e in reads if e["details"]["via"] == "zip"]) == 3
    (zipped,) = read_events(runtime, "content.zip.downloaded")
    assert zipped["item_id"] == case
    assert zipped["details"]["files"] == 3


def test_a_selection_downloads_as_one_zip_and_same_names_do_not_collide(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    a = folder(client, alice, "A")
    b = folder(client, alice, "B")
    one = put(client, alice, a, "notes.txt", b"one")
    two = put(client, alice, b, "NOTES.txt", b"two")  # differs only in case: must unpack on Windows
    also_a = put(client, alice, b, "a", b"a file called a")
    r = client.post("/api/v1/zips", json={"item_ids": [a, one, two, also_a]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert len(names) == len({n.casefold() for n in names}) == 4
    assert all(entry_is_safe(n) for n in names)
    # Someone who cannot see the items gets "not found", not a zip.
    assert client.post("/api/v1/zips", json={"item_ids": [a]}, headers=bob.headers).status_code == 404
    assert client.post("/api/v1/zips", json={"item_ids": []}, headers=alice.headers).status_code == 400


def test_entry_names_are_never_absolute_nor_climb_out() -> None:
    for hostile in ["../../etc/passwd", "/etc/passwd", "..", ".", "C:\\evil", "a\x00b", "nul\x1f", "  "]:
        part = safe_part(hostile)
        assert entry_is_safe(part), (hostile, part)
        assert "/" not in part
        assert part not in {".", ".."}
    assert safe_part("Überwachung 監視.mp4") == "Überwachung 監視.mp4"


def test_a_browser_follows_a_link_to_the_zip_of_a_selection(client: TestClient, alice: UserFixture) -> None:
    a = folder(client, alice, "Exhibits")
    one = put(client, alice, a, "one.txt", b"one")
    two = put(client, alice, alice.root_id, "two.txt", b"two")
    r = client.get(f"/api/v1/zips?item_id={one}&item_id={two}", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert sorted(zipfile.ZipFile(io.BytesIO(r.content)).namelist()) == ["one.txt", "two.txt"]


def test_a_zip_cut_short_is_recorded_with_how_far_it_got(
    client: TestClient, live_server: LiveServer, runtime: Runtime, alice: UserFixture
) -> None:
    case = folder(client, alice, "Bodycam")
    put(client, alice, case, "a.txt", b"small first")
    put(client, alice, case, "b.mp4", os.urandom(BIG))
    received = _cut_download(live_server, f"/api/v1/folders/{case}/zip", alice.headers, keep=1024 * 1024)
    (details,) = _wait_for(runtime, AuditAction.ZIP_INTERRUPTED, 1)
    assert details["files_complete"] == 1
    assert details["files"] == 2
    assert details["cut_in"] == "Bodycam/b.mp4"
    assert received <= details["bytes_sent"] < BIG  # type: ignore[operator]


def test_a_folder_with_more_entries_than_a_zip_holds_is_refused_never_cut_silently(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    """Folders are listed before files: a folder with many subfolders must not push its own files out
    of the zip unnoticed (an exhibit missing from a zip that says it is the whole folder)."""
    import pytest

    from strongroom.content import zips
    from strongroom.errors import InputError
    from strongroom.identity import users
    from strongroom.identity.models import User

    case = folder(client, alice, "Op HERON")
    for n in range(3):
        folder(client, alice, f"empty {n}", case)
    put(client, alice, case, "a statement.txt", b"a")
    put(client, alice, case, "b statement.txt", b"b")
    with transaction(runtime.sessions) as session:
        actor = users.actor_for(session.get_one(User, alice.id), group_ids=[])
        with pytest.raises(InputError, match="at most 3"):
            zips.plan_zip(session, actor, item_ids=[case], clock=runtime.clock, via="zip", max_files=3)
