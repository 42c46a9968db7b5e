"""Search in a real browser: the box on every page, results and filters, at 1280 px and 390 px,
with axe-core clean; screenshots land in test-artifacts/screenshots/ (search-*.png)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_browser import browser, shots, sign_in  # noqa: F401 - fixtures
from tests.web.test_browser_layout import WIDTHS, check_layout

pytestmark = pytest.mark.interop


def test_search_box_results_and_filters(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    alice: UserFixture,
    bob: UserFixture,
    shots: Path,  # noqa: F811 - the fixture
) -> None:
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as api:
        case = api.post("/api/v1/folders", json={"name": "Op Kestrel", "parent_id": alice.root_id}).json()
        for name in ("kestrel-cctv-front-door-2026-04-23.mp4", "kestrel-statement-witness-a.pdf"):
            assert api.put(f"/api/v1/folders/{case['id']}/files/{name}", content=b"x").is_success
    with httpx.Client(base_url=live_server.url, headers=bob.headers) as api:
        assert api.put(f"/api/v1/folders/{bob.root_id}/files/kestrel-bob-only.txt", content=b"x").is_success
    for label, (width, height) in WIDTHS.items():
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        sign_in(page, live_server, alice.email)
        page.goto(f"{live_server.url}/files")
        page.get_by_label("Search files and folders").fill("kestrel")
        page.get_by_label("Search files and folders").press("Enter")
        page.wait_for_url("**/search?q=kestrel")
        assert page.locator("#search-total").inner_text() == "3 found"
        results = page.locator("#search-results").inner_text()
        assert "kestrel-statement-witness-a.pdf" in results
        assert "kestrel-bob-only.txt" not in results
        check_layout(page, shots, f"search-results-{label}")
        page.get_by_role("link", name="folder", exact=True).click()
        assert page.locator("#search-total").inner_text() == "1 found"
        check_layout(page, shots, f"search-filtered-{label}")
        page.goto(f"{live_server.url}/search?q=x&where=case.urn+%3D")
        assert "expected" in page.get_by_role("alert").inner_text()
        page.context.close()


def test_metadata_is_edited_in_the_browser_and_found_by_search(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    alice: UserFixture,
    admin: UserFixture,
    shots: Path,  # noqa: F811 - the fixture
) -> None:
    exhibit = {
        "key": "exhibit",
        "name": "Exhibit",
        "fields": [
            {"key": "ref", "label": "Exhibit ref", "type": "text", "required": True},
            {"key": "seized_at", "label": "Seized at", "type": "date"},
            {"key": "camera", "label": "Camera location", "type": "multi", "options": ["front", "rear"]},
        ],
    }
    with httpx.Client(base_url=live_server.url, headers=admin.headers) as api:
        assert api.post("/api/v1/metadata-templates", json=exhibit).status_code == 201
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as api:
        made = api.put(f"/api/v1/folders/{alice.root_id}/files/door.jpg", content=b"x").json()
    for label, (width, height) in WIDTHS.items():
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        sign_in(page, live_server, alice.email)
        page.goto(f"{live_server.url}/items/{made['id']}")
        page.get_by_role("link", name="Metadata", exact=True).click()
        page.get_by_label("Exhibit ref").fill(f"MH/{label}")
        page.get_by_label("Seized at").fill("2026-04-23")
        page.get_by_label("rear").check()
        page.get_by_role("button", name="Save Exhibit").click()
        page.wait_for_url("**/metadata")
        assert page.get_by_label("Exhibit ref").input_value() == f"MH/{label}"
        check_layout(page, shots, f"search-metadata-{label}")
        page.goto(
            f"{live_server.url}/search?where=exhibit.camera+%3D+rear+AND+exhibit.seized_at+%3E%3D+2026-01-01"
        )
        assert "door.jpg" in page.locator("#search-results").inner_text()
        page.context.close()
