"""Hostile text in custody-report events: PDF string specials are drawn as written (never operators),
and a character no installed font can draw is shown by its code point, never silently left out
(a name that loses a character could read as another file's)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.audit.helpers import why
from tests.support.users import UserFixture

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")

# U+02EA (a modifier letter) has no glyph in DejaVu nor in the CJK fallback font.
EXHIBIT = "Tone\u02ea mark (copy).mp4"
REASON = r"Disclosure (s.9) \ ) Tj ET BT /F1 99 Tf (x) Tj"


def test_specials_are_text_and_undrawable_characters_are_shown_by_code_point(
    client: TestClient, alice: UserFixture, tmp_path: Path
) -> None:
    put = client.put(f"/api/v1/folders/root/files/{EXHIBIT}", content=b"call", headers=alice.headers)
    assert put.status_code == 201, put.text
    file_id = put.json()["id"]
    bundle = client.get(f"/api/v1/files/{file_id}/custody-bundle.json", headers=why(alice, REASON))
    assert bundle.status_code == 200, bundle.text
    pdf = client.get(f"/api/v1/files/{file_id}/custody-report.pdf", headers=why(alice))
    assert pdf.status_code == 200, pdf.text
    path = tmp_path / "custody.pdf"
    path.write_bytes(pdf.content)

    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert f"Reason given: {REASON}" in flat
    assert "Tone[U+02EA] mark (copy).mp4" in flat
    assert "Tone mark (copy).mp4" not in flat
