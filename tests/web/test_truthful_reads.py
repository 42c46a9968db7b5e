"""A truthful record, over real HTTP: opening a page with a recording on it records no read; the Range
requests of one play in the player are one "played" entry; a download is one "downloaded" entry; the
access report's labels and dates are the ones people read (issue #15, point 6)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from strongroom.audit.events import AuditAction
from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime
from strongroom.web.templating import uk_time
from tests.support.live import LiveServer
from tests.support.users import PASSWORD, UserFixture

READS = (AuditAction.CONTENT_READ, AuditAction.CONTENT_PLAYED, AuditAction.PREVIEW_READ)


def reads_of(runtime: Runtime, file_id: str) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.item_id == file_id, AuditEvent.action.in_([a.value for a in READS]))
                .order_by(AuditEvent.seq)
            )
        )


def recording(tmp_path: Path) -> bytes:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is missing: apt-get install -y --no-install-recommends ffmpeg")
    target = tmp_path / "interview.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "sine=frequency=440:duration=3", "-ac", "1", "-ar", "8000", str(target)],
        check=True,
    )  # fmt: skip
    return target.read_bytes()


def clip(tmp_path: Path) -> bytes:
    """A short MP4 (H.264) that browsers play as it is."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is missing: apt-get install -y --no-install-recommends ffmpeg")
    target = tmp_path / "interview.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=duration=2:size=64x64:rate=5", "-pix_fmt", "yuv420p", str(target)],
        check=True,
    )  # fmt: skip
    return target.read_bytes()


def upload(api: httpx.Client, owner: UserFixture, name: str, data: bytes, content_type: str) -> str:
    r = api.put(
        f"/api/v1/folders/{owner.root_id}/files/{name}",
        content=data,
        headers={**owner.headers, "Content-Type": content_type},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def player_src(html: str) -> str:
    player = re.search(r'<(?:video|audio) id="player"[^>]*>', html, re.DOTALL)
    assert player, html
    assert 'preload="none"' in player.group(0), "the player fetches nothing until play is pressed"
    src = re.search(r'src="([^"]+)"', player.group(0))
    assert src
    return src.group(1).replace("&amp;", "&")


def play(api: httpx.Client, url: str) -> None:
    """What a browser's player does: an open-ended first request it drops early, then seeks."""
    with api.stream("GET", url, headers={"Range": "bytes=0-"}) as first:
        assert first.status_code == 206
        size = int(first.headers["content-range"].rsplit("/", 1)[1])
        next(first.iter_bytes(), None)  # read a little, then drop the connection
    for start in (size // 3, size // 2, size - 100):
        seek = api.get(url, headers={"Range": f"bytes={start}-"})
        assert seek.status_code == 206


def test_staff_page_records_nothing_until_played_then_one_play_and_one_download(
    runtime: Runtime, live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    data = clip(tmp_path)
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        file_id = upload(api, alice, "interview.mp4", data, "video/mp4")
        login = api.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf
        signed = api.post(
            "/login", data={"email": alice.email, "password": PASSWORD, "csrf_token": csrf.group(1)}
        )
        assert signed.status_code in {200, 303}, signed.text
        page = api.get(f"/items/{file_id}")
        assert page.status_code == 200
        assert reads_of(runtime, file_id) == [], "opening the page read nothing"
        src = player_src(page.text)
        assert "playback=" in src

        play(api, src)
        played = reads_of(runtime, file_id)
        assert [e.action for e in played] == [AuditAction.CONTENT_PLAYED.value]
        assert json.loads(played[0].details)["range"] == [0, len(data) - 1]
        with transaction(runtime.sessions) as session:
            cut = session.scalars(
                select(AuditEvent).where(AuditEvent.action == AuditAction.CONTENT_READ_INTERRUPTED.value)
            ).all()
        assert cut == [], "a player dropping a connection is not a download stopped short"

        # Opening the page again is a new playback: pressing play again is a second entry.
        again = player_src(api.get(f"/items/{file_id}").text)
        assert again != src
        assert api.get(again, headers={"Range": "bytes=0-"}).status_code == 206
        assert len(reads_of(runtime, file_id)) == 2

        download = api.get(f"/api/v1/files/{file_id}/content?download=1")
        assert download.status_code == 200
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.content == data
        actions = [e.action for e in reads_of(runtime, file_id)]
        assert actions == [AuditAction.CONTENT_PLAYED.value] * 2 + [AuditAction.CONTENT_READ.value]

        assert api.get(f"/api/v1/files/{file_id}/content?playback=no!").status_code == 400


def test_a_play_that_reaches_new_bytes_records_only_those(
    runtime: Runtime, live_server: LiveServer, alice: UserFixture
) -> None:
    data = b"x" * 10_000
    with httpx.Client(base_url=live_server.url, timeout=30, headers=alice.headers) as api:
        file_id = upload(api, alice, "probe.mp4", data, "video/mp4")
        url = f"/api/v1/files/{file_id}/content?playback=safari-probe-1"
        assert api.get(url, headers={"Range": "bytes=0-1"}).status_code == 206  # Safari's probe
        assert api.get(url, headers={"Range": "bytes=0-1"}).status_code == 206
        assert api.get(url, headers={"Range": "bytes=0-"}).status_code == 206
        assert api.get(url, headers={"Range": "bytes=5000-5100"}).status_code == 206
        ranges = [json.loads(e.details)["range"] for e in reads_of(runtime, file_id)]
        assert ranges == [[0, 1], [0, 9999]]


def test_shared_link_page_records_nothing_until_played(
    runtime: Runtime, live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    audio = recording(tmp_path)
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        file_id = upload(api, alice, "interview.wav", audio, "audio/wav")
        Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()
        made = api.post(
            f"/api/v1/items/{file_id}/shared-links", json={"preview_only": True}, headers=alice.headers
        )
        assert made.status_code == 201, made.text
        token = made.json()["url"].rsplit("/s/", 1)[1]
        page = api.get(f"/s/{token}")
        assert page.status_code == 200
        assert reads_of(runtime, file_id) == [], "opening the link page read nothing"
        src = player_src(page.text)
        play(api, src)
        played = reads_of(runtime, file_id)
        assert [e.action for e in played] == [AuditAction.CONTENT_PLAYED.value]
        details = json.loads(played[0].details)
        assert details["playback"] == src.split("playback=")[1]
        assert details["source"] == "preview"
        assert played[0].actor_kind == "link"


def test_dates_are_uk_time_with_the_zone_said() -> None:
    from datetime import UTC, datetime

    assert uk_time(datetime(2026, 12, 1, 23, 5, tzinfo=UTC)) == "1 Dec 2026, 23:05 GMT"
    assert uk_time(datetime(2026, 7, 1, 23, 5, tzinfo=UTC)) == "2 Jul 2026, 00:05 BST"
