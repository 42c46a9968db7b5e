"""Office documents preview as a PDF made by real LibreOffice in the locked-down worker: an MG11
witness statement in Word or OpenDocument, a spreadsheet, a presentation. The bytes must prove the
format the name claims, and a document that links a remote picture fetches nothing."""

# ruff: noqa: E501  # each OOXML or ODF part is one XML literal, easier to check whole than wrapped

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from strongroom.config import PreviewSettings
from strongroom.content import office
from strongroom.content.transcoding import Refused
from tests.content.test_hostile_media import renditions_of, run_worker, upload, web_server  # noqa: F401
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
STATEMENT = "WITNESS STATEMENT (MG11) of Zofia Wójcik"


def docx(text: str) -> bytes:
    """The smallest Word document Word itself opens: one paragraph."""
    return docx_body(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>")


def docx_body(body: str) -> bytes:
    """A Word document whose body is `body` (WordprocessingML paragraphs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body>{body}</w:body></w:document>",
        )
    return buffer.getvalue()


def odf(mimetype: str, body: str, *, extra_ns: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype)  # first and stored, as ODF requires
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
        z.writestr(
            "content.xml",
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
            ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
            ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
            ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
            ' xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
            ' xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"'
            f' xmlns:xlink="http://www.w3.org/1999/xlink"{extra_ns} office:version="1.2">'
            f"<office:body>{body}</office:body></office:document-content>",
        )
    return buffer.getvalue()


def odt(text: str, *, picture_url: str | None = None) -> bytes:
    picture = (
        '<draw:frame svg:width="2cm" svg:height="2cm"><draw:image xlink:type="simple" xlink:show="embed"'
        f' xlink:actuate="onLoad" xlink:href="{picture_url}"/></draw:frame>'
        if picture_url
        else ""
    )
    return odf(ODT, f"<office:text><text:p>{text}{picture}</text:p></office:text>")


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True, timeout=60)
    return done.stdout.decode()


def test_word_and_opendocument_statements_preview_as_pdf(
    client: TestClient,
    alice: UserFixture,
    runtime: object,
    web_server: tuple[str, list[str]],  # noqa: F811  # the fixture, imported
) -> None:
    base, hits = web_server
    files = {
        "MG11 Wójcik.docx": (docx(STATEMENT), DOCX),
        "MG11 Wójcik.odt": (odt(STATEMENT, picture_url=f"{base}/tracking-pixel.png"), ODT),
        "exhibits.ods": (
            odf(
                ODS,
                "<office:spreadsheet><table:table><table:table-row><table:table-cell><text:p>"
                "Exhibit ZW/1</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>",
            ),
            ODS,
        ),
    }
    ids = {name: upload(client, alice, name, data, ctype) for name, (data, ctype) in files.items()}
    run_worker(runtime)  # type: ignore[arg-type]
    assert hits == []  # the linked picture was never fetched
    sign_in(client, alice.email)
    for name, file_id in ids.items():
        made = renditions_of(runtime, file_id)  # type: ignore[arg-type]
        assert [(r.status, r.content_type) for r in made] == [("ready", "application/pdf")], (
            name,
            made[0].detail,
        )
        preview = client.get(f"/api/v1/files/{file_id}/preview", headers=alice.headers)
        assert preview.status_code == 200
        assert preview.headers["content-type"] == "application/pdf"
        expected = "Exhibit ZW/1" if name.endswith(".ods") else STATEMENT
        assert expected in " ".join(pdf_text(preview.content).split()), name
        page = client.get(f"/items/{file_id}")
        assert 'data-kind="pdf"' in page.text
        assert 'data-source="rendition"' in page.text
        assert "No preview" not in page.text
        assert "This is a PDF copy made for reading in the browser" in page.text


def test_a_document_whose_bytes_are_not_what_its_name_says_gets_no_preview(
    client: TestClient, alice: UserFixture, runtime: object
) -> None:
    disguised = {
        "sheet.docx": (odf(ODS, "<office:spreadsheet/>"), DOCX),  # a real spreadsheet, named as Word
        "report.doc": (b"MZ\x90\x00" + b"\x00" * 200, "application/msword"),  # a program, named as Word
    }
    ids = {name: upload(client, alice, name, data, ctype) for name, (data, ctype) in disguised.items()}
    # A web page named .docx is stored as the HTML its bytes are: never given to LibreOffice, and the
    # page says what it really is.
    page_id = upload(client, alice, "statement.docx", b"<html><body>Hello</body></html>", DOCX)
    run_worker(runtime)  # type: ignore[arg-type]
    for name, file_id in ids.items():
        made = renditions_of(runtime, file_id)  # type: ignore[arg-type]
        assert [(r.status, r.blob_key) for r in made] == [("unsupported", None)], name
        assert "its contents are not one" in str(made[0].detail)
    assert renditions_of(runtime, page_id) == []  # type: ignore[arg-type]
    sign_in(client, alice.email)
    shown = client.get(f"/items/{page_id}").text
    assert "No preview.</strong> The file is a web page" in shown
    item = client.get(f"/items/{ids['sheet.docx']}").text
    assert "No preview." in item
    assert "named as a Word or text document, but its contents are not one" in item


def test_a_conversion_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    source = tmp_path / "statement.odt"
    source.write_bytes(odt(STATEMENT))
    slow = PreviewSettings(timeout_seconds=0.01)
    refused = office.document_to_pdf(source=source, content_type=ODT, work=tmp_path / "work", settings=slow)
    assert isinstance(refused, Refused)
    assert "took longer than" in refused.reason
