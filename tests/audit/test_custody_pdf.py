"""The custody report as a court clerk reads it: the text pdftotext extracts (page 1 a plain summary,
then every event in plain words, UK times, names in several scripts), every word inside the page, the
fonts embedded, PDF/A-3 with the verifiable bundle attached."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from strongroom.cli import app as cli_app
from strongroom.runtime import Runtime
from tests.audit.helpers import why
from tests.support.users import UserFixture

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")

CASE = "Op KESTREL"
SUBFOLDER = "Świadkowie Łódź"
# Arabic, Chinese and Polish in one exhibit name: the report must print each as written.
EXHIBIT = "شهادة 张伟 Zażółć.mp4"
REASON = "Disclosure to the CPS for Op Kestrel"
A4_POINTS = (595.28, 841.89)


def _folder(client: TestClient, user: UserFixture, name: str, parent: str) -> str:
    response = client.post("/api/v1/folders", json={"name": name, "parent_id": parent}, headers=user.headers)
    assert response.status_code == 201, response.text
    folder_id: str = response.json()["id"]
    return folder_id


@pytest.fixture
def report(client: TestClient, alice: UserFixture, tmp_path: Path) -> tuple[Path, str]:
    case = _folder(client, alice, CASE, "root")
    folder = _folder(client, alice, SUBFOLDER, case)
    url = f"/api/v1/folders/{folder}/files/{EXHIBIT}"
    put = client.put(url, content=b"999 call recording", headers=alice.headers)
    assert put.status_code in {200, 201}, put.text
    file_id: str = put.json()["id"]
    for _ in range(3):
        assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).status_code == 200
    # An earlier disclosure, recorded with its reason, is one of the events the report lists.
    bundle = client.get(f"/api/v1/files/{file_id}/custody-bundle.json", headers=why(alice, REASON))
    assert bundle.status_code == 200, bundle.text
    pdf = client.get(f"/api/v1/files/{file_id}/custody-report.pdf", headers=why(alice))
    assert pdf.status_code == 200, pdf.text
    path = tmp_path / "custody.pdf"
    path.write_bytes(pdf.content)
    return path, file_id


def _text(path: Path, *pages: str) -> str:
    args = ["pdftotext", "-layout", *pages, str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def test_page_one_tells_a_clerk_what_the_exhibit_is_and_how_to_recheck_it(
    report: tuple[Path, str], alice: UserFixture, artifacts_dir: Path
) -> None:
    path, file_id = report
    shutil.copy(path, artifacts_dir / "custody-report-unicode.pdf")
    page_one = " ".join(_text(path, "-f", "1", "-l", "1").split())
    assert "Chain of custody report" in page_one
    assert "Zażółć.mp4" in page_one
    assert "张伟" in page_one
    # The Arabic word is drawn shaped, right to left; pdftotext reads it back in the order drawn.
    assert "شهادة" in page_one or "شهادة"[::-1] in page_one
    assert f"Case reference {CASE}" in page_one
    assert f"Filed in {CASE} / {SUBFOLDER}" in page_one
    assert "d3e0bb0f" in page_one or re.search(r"SHA-256 [0-9a-f]{64}", page_one)
    assert re.search(
        rf"Uploaded By {re.escape(alice.email)} on \w{{3}} \d+ \w{{3}} \d{{4}}, [\d:]+ (GMT|BST)", page_one
    )
    assert f"3 time(s) by 1 person(s) or link(s): - {alice.email}: downloaded 3 times" in page_one
    assert "Integrity Verified when this report was made" in page_one
    assert f"strongroom audit verify custody-{file_id}.json --public-key" in page_one
    # Nothing internal on the summary: no action codes, no JSON.
    assert "content.version" not in page_one
    assert "{" not in page_one


def test_every_event_is_in_plain_words_with_uk_times(report: tuple[Path, str], alice: UserFixture) -> None:
    path, _ = report
    events = " ".join(_text(path, "-f", "2").split())
    assert "Every event about this exhibit" in events
    assert f"1. {_uk_time_pattern_sample(events)}: Uploaded" in events
    assert events.count(": Downloaded By") == 3
    assert f"By {alice.email}" in events
    assert f"Reason given: {REASON}" in events
    assert "Chain-of-custody report made" in events
    assert "content.version.read" not in events
    assert "UTC" not in events.replace("UTC ", "")  # one format: UK times only
    times = re.findall(r"\b\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d (GMT|BST)\b", events)
    assert len(times) >= 5


def _uk_time_pattern_sample(text: str) -> str:
    found = re.search(r"\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d (GMT|BST)", text)
    assert found, text[:400]
    return found.group()


def test_no_word_runs_past_the_page_and_the_pages_render(report: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = report
    html = tmp_path / "words.html"
    subprocess.run(["pdftotext", "-bbox", str(path), str(html)], check=True)
    tree = ET.parse(html)  # our own report, just written
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    pages = tree.findall(".//x:page", ns)
    assert len(pages) >= 2
    for page in pages:
        width, height = float(page.attrib["width"]), float(page.attrib["height"])
        assert (width, height) == pytest.approx(A4_POINTS, abs=1)  # portrait A4
        for word in page.findall("x:word", ns):
            assert float(word.attrib["xMin"]) >= 0, word.text
            assert float(word.attrib["xMax"]) <= width - 20, word.text  # inside the right margin
            assert float(word.attrib["yMax"]) <= height, word.text
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == len(pages)


def test_fonts_are_embedded_and_the_file_is_pdf_a_with_the_bundle_attached(
    report: tuple[Path, str], runtime: Runtime, tmp_path: Path
) -> None:
    path, file_id = report
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows
    assert all(" yes " in row for row in rows), fonts  # every font embedded
    assert any("DejaVuSans" in row for row in rows)
    raw = path.read_bytes()
    assert b"pdfaid:part" in raw
    assert re.search(rb"<pdfaid:part>3</pdfaid:part>|pdfaid:part=\"3\"", raw)
    assert b"/OutputIntents" in raw
    assert b"/GTS_PDFA1" in raw
    # The attachment is the verifiable bundle: pull it out and verify it as a defence expert would.
    out = tmp_path / "attached"
    out.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(out), str(path)], check=True)
    bundle_path = out / f"custody-{file_id}.json"
    assert json.loads(bundle_path.read_text(encoding="utf-8"))["item"]["id"] == file_id
    key = runtime.audit_key.public_key().hex()
    ok = CliRunner().invoke(cli_app, ["audit", "verify", str(bundle_path), "--public-key", key])
    assert ok.exit_code == 0, ok.output
