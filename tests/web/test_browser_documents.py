"""An MG11 witness statement in Word, opened on its item page in a real browser (Debian chromium):
the PDF that LibreOffice made in the worker shows in the pdf.js viewer, which pages, zooms and finds
text, at 1280 px and on a 390 px phone, with axe-core clean and one recorded preview read."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from tests.content.test_document_previews import DOCX, docx_body
from tests.content.test_thumbnails import pdf_bytes
from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_browser import browser, check_page, live_server_runtime, recorded_reads, shots, sign_in  # noqa: F401

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)"),
]
PAGES = ("Statement of Zofia Wójcik", "Continuation sheet", "Exhibit ZW/3 produced")


def three_page_statement() -> bytes:
    """A Word document with one paragraph per page (explicit page breaks)."""
    page_break = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'
    return docx_body(page_break.join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in PAGES))


def test_a_word_statement_previews_in_the_pdf_viewer(
    browser: Any,  # noqa: F811  # the fixture
    live_server: LiveServer,
    alice: UserFixture,
    shots: Path,  # noqa: F811  # the fixture
) -> None:
    with httpx.Client(base_url=live_server.url, headers={**alice.headers, "Content-Type": DOCX}) as api:
        put = api.put("/api/v1/folders/root/files/MG11 Wójcik.docx", content=three_page_statement())
        picture = api.put(
            "/api/v1/folders/root/files/scene.pdf",
            content=pdf_bytes(),
            headers={"Content-Type": "application/pdf"},
        )
    assert put.status_code == 201, put.text
    assert picture.status_code == 201, picture.text
    file_id = put.json()["id"]
    runtime = live_server_runtime(None, live_server)
    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()

    for width, height, name in ((1280, 900, "40-document-preview"), (390, 844, "41-document-preview-phone")):
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        sign_in(page, live_server, alice.email)
        page.goto(f"{live_server.url}/items/{file_id}")
        page.wait_for_selector("#preview canvas[aria-label='PDF page 1 of 3']")
        assert page.locator("#pdf-page").input_value() == "1"
        page.get_by_role("button", name="Next page").click()
        page.wait_for_selector("#preview canvas[aria-label='PDF page 2 of 3']")
        page.get_by_role("button", name="Zoom in").click()
        # Locator assertions, not wait_for_function: its polling evaluates strings, which the CSP forbids.
        expect(page.locator(".sr-pdf-zoom")).to_have_text("125 %")
        page.get_by_label("Find in document").fill("exhibit zw/3")
        page.get_by_role("button", name="Find").click()
        page.wait_for_selector("#preview canvas[aria-label='PDF page 3 of 3']")
        assert page.locator(".sr-pdf-found").inner_text() == "Found on page 3."
        page.get_by_label("Page number").fill("1")
        page.get_by_label("Page number").press("Enter")
        page.wait_for_selector("#preview canvas[aria-label='PDF page 1 of 3']")
        # The viewer's controls and page stay inside the preview box, even on the phone (the page
        # scrolls inside its frame when zoomed in).
        spill = page.evaluate(
            """() => {
                 const box = document.getElementById('preview').getBoundingClientRect();
                 const parts = document.querySelectorAll(
                   '#preview .sr-pdf-controls > *, #preview .sr-pdf-frame');
                 const out = (r) => r.left < box.left - 1 || r.right > box.right + 1;
                 return [...parts].filter((e) => out(e.getBoundingClientRect())).map((e) => e.className);
               }"""
        )
        assert spill == [], (width, spill)
        check_page(page, shots, name)
        # The folder list shows the PDF's first page as a thumbnail, loaded as the row comes into view.
        page.goto(f"{live_server.url}/files/{alice.root_id}")
        thumb = page.locator(f"img.sr-thumb[src='/api/v1/files/{picture.json()['id']}/thumbnail']")
        thumb.scroll_into_view_if_needed()
        deadline = time.monotonic() + 120
        while not thumb.evaluate("(img) => img.complete && img.naturalWidth > 0"):
            assert time.monotonic() < deadline, "the thumbnail never loaded"
            time.sleep(0.2)
        check_page(page, shots, name.replace("document-preview", "folder-thumbnails"))
        page.context.close()
    # Each opening fetched the PDF once: two views, two preview reads, no range-by-range trail.
    assert recorded_reads(runtime, file_id) == ["content.preview.read", "content.preview.read"]
