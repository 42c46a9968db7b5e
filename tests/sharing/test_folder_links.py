"""Folder links all the way down (issue 15, points 1 and 7): subfolders, zips counted once, never above
the link nor beyond its classification ceiling; downloads counted once per visitor and file."""

from __future__ import annotations

import io
import os
import re
import socket
import time
import zipfile
from datetime import timedelta

from fastapi.testclient import TestClient

from strongroom.audit.events import AuditAction
from strongroom.content.zips import entry_is_safe
from strongroom.jobs import tasks
from strongroom.runtime import Runtime
from tests.api.test_if_range_and_interrupted_reads import BIG, _wait_for
from tests.sharing.test_classification import classify, events, folder, link, put
from tests.support.clock import AdjustableClock
from tests.support.live import LiveServer
from tests.support.users import UserFixture

HTML = {"Accept": "text/html,application/xhtml+xml"}


def case_tree(client: TestClient, alice: UserFixture) -> dict[str, str]:
    ids = {"case": folder(client, alice, "Op KESTREL")}
    ids["cctv"] = folder(client, alice, "Garage CCTV", ids["case"])
    ids["bus"] = folder(client, alice, "Bus 42", ids["cctv"])
    ids["statement"] = put(client, alice, ids["case"], "statement.txt", b"witness statement")
    ids["camera"] = put(client, alice, ids["bus"], "camera 1.mp4", b"\x00" * 70_000)
    ids["secret"] = put(client, alice, ids["bus"], "informant.txt", b"never through a link")
    assert classify(client, alice, ids["secret"], "SECRET").status_code == 200
    ids["outside"] = put(client, alice, alice.root_id, "not shared.txt", b"outside")
    return ids


def test_a_recipient_browses_down_to_a_subfolder_and_downloads_from_it_but_never_above_or_beyond(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    ids = case_tree(client, alice)
    link_id, token = link(client, alice, ids["cctv"])
    landing = client.get(f"/s/{token}")
    assert f'href="/s/{token}/folders/{ids["bus"]}"' in landing.text
    bus = client.get(f"/s/{token}/folders/{ids['bus']}")
    assert bus.status_code == 200
    assert "camera 1.mp4" in bus.text
    assert "informant.txt" not in bus.text  # SECRET: above what an "anyone" link may serve
    # Breadcrumbs start at the linked folder: the case folder above it is never named.
    assert "Garage CCTV" in bus.text
    assert "Op KESTREL" not in bus.text
    assert client.get(f"/s/{token}/files/{ids['camera']}").status_code == 200
    assert client.get(f"/s/{token}/content/{ids['camera']}").content == b"\x00" * 70_000
    for above in (ids["case"], alice.root_id):
        assert client.get(f"/s/{token}/folders/{above}").status_code == 404
        assert client.get(f"/s/{token}/zip/{above}").status_code == 404
    for beyond in (ids["secret"], ids["outside"], ids["statement"]):
        assert client.get(f"/s/{token}/content/{beyond}").status_code == 404
    api = client.get(f"/s/{token}/api/folders/{ids['bus']}").json()
    assert [entry["name"] for entry in api["items"]] == ["camera 1.mp4"]
    assert client.get(f"/s/{token}/api/folders/{ids['case']}").status_code == 404
    withheld = [e for e in events(runtime, "sharing.link.item_withheld") if e["item_id"] == ids["secret"]]
    assert withheld
    assert withheld[0]["details"]["link_id"] == link_id


def test_a_folder_zip_holds_everything_below_the_link_it_may_serve_and_counts_once(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    ids = case_tree(client, alice)
    put(client, alice, ids["bus"], "Überwachung 監視 (copy).txt", "ünïcode".encode())
    link_id, token = link(client, alice, ids["cctv"], download_limit=2)
    r = client.get(f"/s/{token}/zip/{ids['cctv']}")
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = sorted(archive.namelist())
    assert names == [
        "Garage CCTV/Bus 42/camera 1.mp4",
        "Garage CCTV/Bus 42/Überwachung 監視 (copy).txt",
    ]
    assert all(entry_is_safe(name) for name in names)
    assert archive.read("Garage CCTV/Bus 42/camera 1.mp4") == b"\x00" * 70_000
    assert client.get(f"/api/v1/shared-links/{link_id}", headers=alice.headers).json()["download_count"] == 1
    reads = [e for e in events(runtime, "content.version.read") if e["details"]["via"] == "link-zip"]
    assert len(reads) == 2  # every file in the zip is a recorded read
    # A selection of a subfolder and a file: one more download, then the limit is reached.
    form = {"item_id": [ids["bus"], ids["camera"]]}
    chosen = client.post(f"/s/{token}/zip", data=form)
    assert chosen.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(chosen.content)).namelist()) == 3
    assert client.get(f"/s/{token}/api/limits").json()["downloads_left"] == 0
    # A refused zip is a page a person can read, with a way back; scripts get JSON.
    refused = client.get(f"/s/{token}/zip/{ids['cctv']}", headers=HTML)
    assert refused.status_code == 410
    assert "text/html" in refused.headers["content-type"]
    assert "used as many times as it allows" in refused.text
    assert f'href="/s/{token}"' in refused.text
    assert client.get(f"/s/{token}/zip/{ids['cctv']}").json()["code"] == "gone"
    # Picking an item outside the link is "not found" and counts nothing.
    assert client.post(f"/s/{token}/zip", data={"item_id": [ids["outside"]]}).status_code in {404, 410}


def test_a_preview_only_folder_link_offers_no_zip(client: TestClient, alice: UserFixture) -> None:
    ids = case_tree(client, alice)
    _, token = link(client, alice, ids["cctv"], preview_only=True)
    assert "/zip/" not in client.get(f"/s/{token}").text
    assert 'type="checkbox"' not in client.get(f"/s/{token}").text
    assert client.get(f"/s/{token}/zip/{ids['cctv']}").status_code == 404


def test_seeking_and_resuming_count_as_one_download_for_one_visitor(
    client: TestClient, app: object, runtime: Runtime, alice: UserFixture, clock: AdjustableClock
) -> None:
    data = bytes(range(256)) * 400
    file_id = put(client, alice, alice.root_id, "interview.mp4", data)
    link_id, token = link(client, alice, file_id, download_limit=1)
    page = client.get(f"/s/{token}")  # gives this browser its visitor id
    assert re.search(r"data-remaining>\s*1\s*<", page.text)
    first = client.get(f"/s/{token}/content/{file_id}", headers={"Range": "bytes=0-999"})
    assert first.status_code == 206
    # The same visitor seeks, then resumes from where the connection broke: no new download.
    for ranged in ("bytes=50000-50999", "bytes=1000-"):
        again = client.get(f"/s/{token}/content/{file_id}", headers={"Range": ranged})
        assert again.status_code == 206, again.text
    assert again.content == data[1000:]
    assert client.get(f"/api/v1/shared-links/{link_id}", headers=alice.headers).json()["download_count"] == 1
    assert client.get(f"/s/{token}/api/limits").json()["downloads_left"] == 0
    # A whole new copy is a new download: refused, with a page that says why.
    refused = client.get(f"/s/{token}/content/{file_id}", headers=HTML)
    assert refused.status_code == 410
    assert "used as many times as it allows" in refused.text
    # Another visitor (another browser) cannot ride on this one's download.
    with TestClient(app, headers={"User-Agent": "another browser"}) as other:  # type: ignore[arg-type]
        other.get(f"/s/{token}")
        assert other.get(f"/s/{token}/content/{file_id}", headers={"Range": "bytes=0-9"}).status_code == 410
    # Once the window has passed, the claim is gone: resuming is a new download (none left).
    clock.advance(timedelta(hours=runtime.settings.sharing.resume_hours, seconds=1))
    tasks.forget_download_claims(runtime)
    assert client.get(f"/s/{token}/content/{file_id}", headers={"Range": "bytes=10-"}).status_code == 410


def test_revoking_a_link_cuts_its_running_zip_and_both_are_recorded(
    client: TestClient, live_server: LiveServer, runtime: Runtime, alice: UserFixture
) -> None:
    case = folder(client, alice, "Bodycam")
    put(client, alice, case, "b.mp4", os.urandom(BIG))
    link_id, token = link(client, alice, case)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.settimeout(120)
        sock.connect(("127.0.0.1", live_server.port))
        sock.sendall(f"GET /s/{token}/zip/{case} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        got = len(sock.recv(65536))
        assert client.post(f"/api/v1/shared-links/{link_id}/revoke", headers=alice.headers).status_code == 200
        time.sleep(1.5)  # past the zip's re-check interval, whatever its segment size
        while chunk := sock.recv(65536):
            got += len(chunk)
    assert got < BIG  # the server stopped sending, long before the end
    (cut,) = _wait_for(runtime, AuditAction.LINK_STREAM_CUT, 1)
    assert cut["link_id"] == link_id
    (zip_cut,) = _wait_for(runtime, AuditAction.ZIP_INTERRUPTED, 1)
    assert zip_cut["files_complete"] == 0
