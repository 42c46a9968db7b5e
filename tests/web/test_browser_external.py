"""The external pages the acceptance journey does not pass through, in a real browser with axe-core:
password (and its error), a downloadable file, a shared folder, a withdrawn link, an upload request
with an error; the keyboard reaches every control and focus is visible. Screenshots land in
test-artifacts/screenshots/3x-*.png.

Needs what tests/web/test_browser.py needs: chromium, axe-core, playwright.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_browser import browser, check_page, shots  # noqa: F401 - fixtures

pytestmark = pytest.mark.interop

FOCUS_YELLOW = "rgb(255, 221, 0)"


def put_file(client: TestClient, owner: UserFixture, folder_id: str, name: str, data: bytes) -> str:
    r = client.put(f"/api/v1/folders/{folder_id}/files/{name}", content=data, headers=owner.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def link(client: TestClient, owner: UserFixture, item_id: str, **options: object) -> tuple[str, str]:
    r = client.post(f"/api/v1/items/{item_id}/shared-links", json=options, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], "/s/" + r.json()["url"].rsplit("/s/", 1)[1]


def tab_to(page: Any, selector: str, *, presses: int = 20) -> None:
    target = page.locator(selector)
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_external_pages_pass_axe_and_work_from_the_keyboard(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    client: TestClient,
    alice: UserFixture,
    shots: Path,  # noqa: F811 - the fixture
) -> None:
    statement = put_file(client, alice, alice.root_id, "witness statement PC 1234.txt", b"x" * 1_234_567)
    _, protected = link(client, alice, statement, password="correct horse battery", download_limit=3)
    folder = client.post(
        "/api/v1/folders", json={"name": "Op KESTREL exhibits", "parent_id": "root"}, headers=alice.headers
    ).json()["id"]
    for name, size in [("exhibit 1 - photo.jpg", 2_400_000), ("exhibit 2 - notes.txt", 812)]:
        put_file(client, alice, folder, name, b"y" * size)
    _, folder_link = link(client, alice, folder)
    withdrawn_id, withdrawn = link(client, alice, statement)
    assert (
        client.post(f"/api/v1/shared-links/{withdrawn_id}/revoke", headers=alice.headers).status_code == 200
    )
    request = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests",
        json={
            "title": "CCTV from the 42 bus, 3 March",
            "instructions": "Export cameras 1-4, 07:00 to 09:00.",
        },
        headers=alice.headers,
    )
    upload_path = "/r/" + request.json()["url"].rsplit("/r/", 1)[1]

    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(live_server.url + protected)
    check_page(page, shots, "30-ext-password")
    # Keyboard: the skip link comes first, then the field, then the button; focus is visible.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Skip to main content"
    tab_to(page, "#password")
    page.keyboard.type("not the password")
    tab_to(page, "button[type=submit]")
    assert (
        page.locator("button[type=submit]").evaluate("b => getComputedStyle(b).backgroundColor")
        == FOCUS_YELLOW
    )
    page.keyboard.press("Enter")
    page.wait_for_selector(".sr-error-summary")
    assert page.evaluate("() => document.activeElement.classList.contains('sr-error-summary')"), (
        "the error summary takes focus"
    )
    check_page(page, shots, "31-ext-password-error")
    page.get_by_role("link", name="That password is not right", exact=False).click()
    assert page.evaluate("() => document.activeElement.id") == "password"
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_selector("#sha256")
    assert page.get_by_role("link", name="Download").is_visible()
    assert "(1,234,567 bytes)" in page.locator(".ext-summary").inner_text()
    check_page(page, shots, "32-ext-file-download")

    page.goto(live_server.url + folder_link)
    page.wait_for_selector("table")
    check_page(page, shots, "33-ext-folder")
    page.get_by_role("link", name="exhibit 2 - notes.txt").click()
    page.wait_for_selector("#sha256")
    check_page(page, shots, "33b-ext-folder-file")

    gone = page.goto(live_server.url + withdrawn)
    assert gone is not None
    assert gone.status == 410
    assert "witness statement" not in page.content()
    check_page(page, shots, "34-ext-gone")

    page.goto(live_server.url + upload_path)
    check_page(page, shots, "35-ext-upload-form")
    page.get_by_label("Your e-mail address").fill("sam@garage.example.test")
    page.set_input_files("#files", {"name": "camera-3.mp4", "mimeType": "video/mp4", "buffer": b"not really"})
    page.get_by_role("button", name="Send files").click()
    page.wait_for_selector(".sr-error-summary:visible")
    assert page.evaluate("() => document.activeElement.id") == "upload-error", "the error summary takes focus"
    page.locator("#upload-error a").click()
    assert page.evaluate("() => document.activeElement.id") == "f-name", "the error links to the empty field"
    check_page(page, shots, "36-ext-upload-error")
