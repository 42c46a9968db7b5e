"""A Word statement seen by an outside recipient, in a real browser (Debian chromium): through a
preview-only file link and through a folder link's subfolder, the PDF that LibreOffice made shows in
the same pdf.js viewer staff use (paging, zoom, find), at 1280 px and on a 390 px phone, axe-core
clean. A document whose PDF is still being made says so, then shows itself without a reload.
Screenshots land in test-artifacts/screenshots/5x-*.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from tests.content.test_document_previews import DOCX
from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_browser import browser, check_page, live_server_runtime, recorded_reads, shots  # noqa: F401
from tests.web.test_browser_documents import three_page_statement
from tests.web.test_browser_external import link

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)"),
]
WIDTHS = ((1280, 900, "desktop"), (390, 844, "phone"))


def put_docx(client: TestClient, owner: UserFixture, folder_id: str, name: str) -> str:
    r = client.put(
        f"/api/v1/folders/{folder_id}/files/{name}",
        content=three_page_statement(),
        headers={**owner.headers, "Content-Type": DOCX},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def folder(client: TestClient, owner: UserFixture, name: str, parent_id: str) -> str:
    r = client.post("/api/v1/folders", json={"name": name, "parent_id": parent_id}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def use_the_viewer(page: Any) -> None:
    """Page, zoom and find, as a recipient would; the viewer stays inside its box."""
    page.wait_for_selector("#preview canvas[aria-label='PDF page 1 of 3']")
    page.get_by_role("button", name="Next page").click()
    page.wait_for_selector("#preview canvas[aria-label='PDF page 2 of 3']")
    page.get_by_role("button", name="Zoom in").click()
    # Locator assertions, not wait_for_function: its polling evaluates strings, which the CSP forbids.
    expect(page.locator(".sr-pdf-zoom")).to_have_text("125 %")
    page.get_by_label("Find in document").fill("exhibit zw/3")
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector("#preview canvas[aria-label='PDF page 3 of 3']")
    expect(page.locator(".sr-pdf-found")).to_have_text("Found on page 3.")
    spill = page.evaluate(
        """() => {
             const box = document.getElementById('preview').getBoundingClientRect();
             const parts = document.querySelectorAll('#preview .sr-pdf-controls > *, #preview .sr-pdf-frame');
             const out = (r) => r.left < box.left - 1 || r.right > box.right + 1;
             return [...parts].filter((e) => out(e.getBoundingClientRect())).map((e) => e.className);
           }"""
    )
    assert spill == [], spill


def test_a_recipient_reads_a_word_statement_in_the_viewer_through_file_and_folder_links(
    browser: Any,  # noqa: F811  # the fixture
    live_server: LiveServer,
    client: TestClient,
    alice: UserFixture,
    shots: Path,  # noqa: F811  # the fixture
) -> None:
    case = folder(client, alice, "Op KESTREL", alice.root_id)
    statements = folder(client, alice, "Statements", case)
    statement = put_docx(client, alice, statements, "MG11 Wójcik.docx")
    runtime = live_server_runtime(None, live_server)
    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()
    _, file_link = link(client, alice, statement, preview_only=True)
    _, folder_link = link(client, alice, case)
    errors: list[str] = []

    for width, height, label in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(live_server.url + file_link)
        use_the_viewer(page)
        # Preview only: no download button, and the page says so.
        expect(page.get_by_role("link", name="Download")).to_have_count(0)
        expect(page.get_by_text("in your browser only")).to_be_visible()
        check_page(page, shots, f"50-link-document-{label}")

        page.goto(live_server.url + folder_link)
        page.get_by_role("link", name="Statements").click()
        page.get_by_role("link", name="MG11 Wójcik.docx").click()
        expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text("Statements")
        use_the_viewer(page)
        check_page(page, shots, f"51-folder-link-document-{label}")
        context.close()
    assert errors == [], errors
    # Every opening fetched the PDF once, as a preview: four views, no download.
    assert recorded_reads(runtime, statement) == ["content.preview.read"] * 4


def test_a_document_still_being_prepared_says_so_then_shows_itself(
    browser: Any,  # noqa: F811  # the fixture
    live_server: LiveServer,
    client: TestClient,
    alice: UserFixture,
    shots: Path,  # noqa: F811  # the fixture
) -> None:
    statement = put_docx(client, alice, alice.root_id, "MG11 continuation.docx")
    _, file_link = link(client, alice, statement)
    runtime = live_server_runtime(None, live_server)
    for width, height, label in WIDTHS:
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        page.goto(live_server.url + file_link)
        expect(page.get_by_role("status")).to_contain_text("A preview of this document is being prepared.")
        check_page(page, shots, f"52-link-document-pending-{label}")
        page.context.close()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(live_server.url + file_link)
    expect(page.get_by_role("status")).to_contain_text("being prepared")
    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()
    # No reload: the page asked the link whether the copy is ready, and now shows it.
    page.wait_for_selector("#preview canvas[aria-label='PDF page 1 of 3']", timeout=120_000)
    page.context.close()
    assert recorded_reads(runtime, statement) == ["content.preview.read"]
