"""Uploaded media is hostile: the preview worker (real ffmpeg) reads nothing but the upload itself.

An HLS playlist or an ffconcat list named `clip.mp4` that points at a local file would, with ffmpeg's
own format probing, pull that file into a preview anyone with access can watch. The bytes decide the
type, the demuxer is forced, only the `file` protocol for the one input is allowed, and the run has
time and memory limits. Real media of every common kind still previews.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.config import PreviewSettings
from strongroom.content import transcoding
from strongroom.content.models import FileRendition, FileVersion
from strongroom.content.renditions import JOB_KIND
from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="needs ffmpeg (apt-get install ffmpeg)"
)

QUIET = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
TONE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
PICTURE = ["-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10"]
H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"]
VP8 = ["-c:v", "libvpx", "-c:a", "libopus"]


def make(path: Path, *arguments: str) -> bytes:
    subprocess.run([*QUIET, *arguments, str(path)], check=True, capture_output=True, timeout=120)
    return path.read_bytes()


def run_worker(runtime: Runtime) -> None:
    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()


def upload(client: TestClient, alice: UserFixture, name: str, data: bytes, ctype: str) -> str:
    put = client.put(
        f"/api/v1/folders/root/files/{name}", content=data, headers={**alice.headers, "Content-Type": ctype}
    )
    assert put.status_code == 201, put.text
    return str(put.json()["id"])


def renditions_of(runtime: Runtime, file_id: str) -> list[FileRendition]:
    with runtime.sessions() as session:
        query = (  # the preview renditions (thumbnails are test_thumbnails.py's)
            select(FileRendition)
            .join(FileVersion)
            .where(FileVersion.file_id == file_id, FileRendition.kind == "preview")
        )
        return list(session.scalars(query))


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file on the worker's disk that no upload may reach: MPEG-TS, so ffmpeg's HLS reader takes it."""
    path = tmp_path / "secret" / "custody-keys.ts"
    path.parent.mkdir()
    make(path, *TONE, "-c:a", "mp2", "-metadata", "service_name=SECRET-CUSTODY")
    return path


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every path asked of it."""
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the hook's signature
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def playlist(*segments: str) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2"]
    for segment in segments:
        lines += ["#EXTINF:1,", segment]
    return ("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n").encode()


def test_unrestricted_ffmpeg_would_leak_the_secret(tmp_path: Path, secret: Path) -> None:
    """The attack is real on this machine: plain `ffmpeg -i clip.mp4` follows the playlist."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(playlist(str(secret)))
    leaked = tmp_path / "leaked.m4a"
    subprocess.run([*QUIET, "-i", str(clip), "-vn", "-c:a", "aac", str(leaked)], check=True, timeout=120)
    assert leaked.stat().st_size > 0
    refused = transcoding.run_ffmpeg(
        sniffed="video/mp4",  # even if the sniffer were fooled, the forced demuxer reads it as MP4
        source=clip,
        target=tmp_path / "out.m4a",
        output_arguments=["-vn", "-c:a", "aac"],
        settings=PreviewSettings(),
    )
    assert refused is not None
    assert not (tmp_path / "out.m4a").exists() or (tmp_path / "out.m4a").stat().st_size == 0


def test_playlists_and_concat_lists_named_mp4_get_no_preview_and_read_nothing(
    client: TestClient,
    alice: UserFixture,
    runtime: Runtime,
    secret: Path,
    web_server: tuple[str, list[str]],
) -> None:
    base, hits = web_server
    hostile = {
        "clip.mp4": playlist(str(secret)),
        "clip-url.mp4": playlist(f"file://{secret}"),
        "concat.mp4": f"ffconcat version 1.0\nfile '{secret}'\n".encode(),
        "remote.mp4": playlist(f"{base}/segment-1.ts", f"{base}/segment-2.ts"),
    }
    ids = {name: upload(client, alice, name, data, "video/mp4") for name, data in hostile.items()}
    # Files stored before types were sniffed kept the client's claim; the worker must not trust it.
    with runtime.sessions.begin() as session:
        for version in session.scalars(select(FileVersion).where(FileVersion.file_id.in_(ids.values()))):
            version.content_type = "video/mp4"
            runtime.jobs.enqueue(session, JOB_KIND, {"version_id": version.id})
    run_worker(runtime)
    sign_in(client, alice.email)

    assert hits == []  # nothing was fetched from the network
    for name, file_id in ids.items():
        made = renditions_of(runtime, file_id)
        assert [(r.status, r.blob_key) for r in made] == [("unsupported", None)], name
        assert made[0].detail is not None
        assert "not audio, video, an image or an office document" in made[0].detail
        assert client.get(f"/api/v1/files/{file_id}/preview", headers=alice.headers).status_code == 404
        state = client.post(f"/api/v1/files/{file_id}/preview", headers=alice.headers).json()
        assert state["state"] == "unsupported", name
        polled = client.get(f"/api/v1/files/{file_id}/preview/state", headers=alice.headers).json()
        assert polled == state
        page = client.get(f"/items/{file_id}")
        assert page.status_code == 200
        assert "No preview." in page.text, name
    assert "HLS playlist" in str(renditions_of(runtime, ids["clip.mp4"])[0].detail)


def test_hostile_uploads_keep_their_type_from_the_bytes(client: TestClient, alice: UserFixture) -> None:
    clip = upload(client, alice, "clip.mp4", playlist("/etc/passwd"), "video/mp4")
    info = client.get(f"/api/v1/files/{clip}", headers=alice.headers).json()
    assert info["content_type"] == "application/vnd.apple.mpegurl"
    state = client.post(f"/api/v1/files/{clip}/preview", headers=alice.headers).json()
    assert state["state"] == "unsupported"
    assert "HLS playlist" in state["reason"]
    link = client.post(f"/api/v1/items/{clip}/shared-links", json={}, headers=alice.headers)
    assert link.status_code == 201, link.text
    outside = client.get(f"/s/{link.json()['url'].rsplit('/s/', 1)[1]}").text
    assert "There is no preview for this kind of file." in outside
    assert "HLS playlist" in outside
    sign_in(client, alice.email)
    page = client.get(f"/items/{clip}").text
    assert "No preview." in page
    assert "HLS playlist" in page


@pytest.mark.parametrize(
    ("name", "arguments", "stored", "preview_type"),
    [
        ("bodycam", [*PICTURE, *TONE, *H264, "-f", "mp4"], "video/mp4", "video/mp4"),
        ("interview", [*PICTURE, *TONE, *VP8, "-f", "webm"], "video/webm", "video/mp4"),
        ("call", [*TONE, "-c:a", "libmp3lame", "-f", "mp3"], "audio/mpeg", "audio/mp4"),
        ("radio", [*TONE, "-f", "wav"], "audio/wav", "audio/mp4"),
        ("scene", [*PICTURE, "-frames:v", "1", "-f", "mjpeg"], "image/jpeg", "image/jpeg"),
        ("plan", [*PICTURE, "-frames:v", "1", "-f", "apng", "-plays", "1"], "image/png", "image/jpeg"),
    ],
)  # fmt: skip
def test_real_media_is_detected_from_its_bytes_and_previews(
    client: TestClient,
    alice: UserFixture,
    runtime: Runtime,
    tmp_path: Path,
    name: str,
    arguments: list[str],
    stored: str,
    preview_type: str,
) -> None:
    data = make(tmp_path / name, *arguments)
    # No extension and no useful Content-Type: only the bytes say what this is.
    file_id = upload(client, alice, name, data, "application/octet-stream")
    assert client.get(f"/api/v1/files/{file_id}", headers=alice.headers).json()["content_type"] == stored
    run_worker(runtime)
    assert [r.status for r in renditions_of(runtime, file_id)] == ["ready"]
    got = client.get(f"/api/v1/files/{file_id}/preview", headers=alice.headers)
    assert got.status_code == 200
    assert got.headers["content-type"] == preview_type
    rendition = tmp_path / "rendition"
    rendition.write_bytes(got.content)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", str(rendition)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert probe.stdout.split()[0] in {"video", "audio"}


def test_ffmpeg_runs_under_time_and_memory_limits(tmp_path: Path) -> None:
    source = tmp_path / "bodycam.mp4"
    make(source, *PICTURE, *TONE, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac")
    arguments = ["-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac"]
    ok = transcoding.run_ffmpeg(
        sniffed="video/mp4",
        source=source,
        target=tmp_path / "ok.mp4",
        output_arguments=arguments,
        settings=PreviewSettings(),
    )
    assert ok is None
    starved = transcoding.run_ffmpeg(
        sniffed="video/mp4",
        source=source,
        target=tmp_path / "starved.mp4",
        output_arguments=arguments,
        settings=PreviewSettings(memory_bytes=16 << 20),
    )
    assert starved is not None
    assert "could not be decoded" in starved.reason
    slow = transcoding.run_ffmpeg(
        sniffed="video/mp4",
        source=source,
        target=tmp_path / "slow.mp4",
        output_arguments=arguments,
        settings=PreviewSettings(timeout_seconds=0.001),
    )
    assert slow is not None
    assert "took longer" in slow.reason
    refused = transcoding.input_arguments("application/vnd.apple.mpegurl", source)
    assert isinstance(refused, transcoding.Refused)
