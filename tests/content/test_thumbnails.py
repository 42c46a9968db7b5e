"""Folder lists show a small picture of images, videos and PDFs: made by the worker with the same
locked-down tools as previews, loaded lazily by the list, and each showing is in the audit trail."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.content.models import FileRendition, FileVersion
from strongroom.runtime import Runtime
from tests.content.test_hostile_media import H264, PICTURE, make, run_worker, upload
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("pdftoppm") is None,
    reason="needs ffmpeg and poppler-utils",
)


def pdf_bytes() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=28)
    pdf.cell(0, 20, "MG11 page one")
    return bytes(pdf.output())


def thumbnails_of(runtime: Runtime, file_id: str) -> list[tuple[str, str | None]]:
    with runtime.sessions() as session:
        query = (
            select(FileRendition.status, FileRendition.content_type)
            .join(FileVersion)
            .where(FileVersion.file_id == file_id, FileRendition.kind == "thumbnail")
        )
        return [(status, ctype) for status, ctype in session.execute(query)]


def test_images_videos_and_pdfs_get_thumbnails_in_the_folder_list(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    files = {
        "scene.png": (
            make(tmp_path / "scene.png", "-f", "lavfi", "-i", "testsrc=size=1280x720", "-frames:v", "1"),
            "image/png",
        ),
        "cctv.mp4": (make(tmp_path / "cctv.mp4", *PICTURE, *H264), "video/mp4"),
        "statement.pdf": (pdf_bytes(), "application/pdf"),
        "notes.txt": (b"no picture of this", "text/plain"),
    }
    ids = {name: upload(client, alice, name, data, ctype) for name, (data, ctype) in files.items()}
    sign_in(client, alice.email)
    before = client.get(f"/files/{alice.root_id}").text
    assert "sr-thumb" not in before  # nothing made yet: the list shows icons
    run_worker(runtime)

    listing = client.get(f"/files/{alice.root_id}").text
    for name in ("scene.png", "cctv.mp4", "statement.pdf"):
        assert thumbnails_of(runtime, ids[name]) == [("ready", "image/jpeg")], name
        img = re.search(rf'<img class="sr-thumb" src="/api/v1/files/{ids[name]}/thumbnail"[^>]*>', listing)
        assert img, name
        assert 'loading="lazy"' in img.group()
        shown = client.get(f"/api/v1/files/{ids[name]}/thumbnail", headers=alice.headers)
        assert shown.status_code == 200, name
        assert shown.headers["content-type"] == "image/jpeg"
        picture = Image.open(io.BytesIO(shown.content))
        assert max(picture.size) <= 320, (name, picture.size)
    assert thumbnails_of(runtime, ids["notes.txt"]) == []
    assert f"/api/v1/files/{ids['notes.txt']}/thumbnail" not in listing
    assert client.get(f"/api/v1/files/{ids['notes.txt']}/thumbnail", headers=alice.headers).status_code == 404

    with runtime.sessions() as session:
        shown_events = session.scalars(
            select(AuditEvent.item_id).where(AuditEvent.action == "content.thumbnail.shown")
        ).all()
    assert set(shown_events) == {ids[n] for n in ("scene.png", "cctv.mp4", "statement.pdf")}
    assert len(shown_events) == 3  # one showing each
