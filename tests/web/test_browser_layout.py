"""Every staff page at a 1280 px desktop and on a 390 px phone, in a real browser (Debian chromium):
nothing overflows the page sideways, every table fits its card or scrolls inside it, axe-core finds
nothing serious, and a screenshot of each page at each width lands in test-artifacts/screenshots/.

Needs what tests/web/test_browser.py needs: chromium, playwright and axe-core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_browser import browser, check_page, on_live_server, shots, sign_in  # noqa: F401 - fixtures

pytestmark = pytest.mark.interop

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

# Whether anything sticks out of the page, or of the card a table sits in without scrolling inside it.
OVERFLOW = "\n".join(
    line
    for line in (Path(__file__).parent / "overflow.js").read_text(encoding="utf-8").splitlines()
    if not line.startswith("//")  # Playwright calls the text only if it starts as a function
)


def check_layout(page: Any, shots: Path, name: str) -> None:  # noqa: F811 - the fixture's name
    """Nothing overflows at this width; then the screenshot and axe-core of check_page."""
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)  # also when it fails
    problems = page.evaluate(OVERFLOW)
    assert not problems, f"{name} overflows: " + "; ".join(problems)
    check_page(page, shots, name)


def open_at_both_widths(browser: Any, server: LiveServer, email: str) -> dict[str, Any]:  # noqa: F811
    pages = {}
    for label, (width, height) in WIDTHS.items():
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        sign_in(page, server, email)
        pages[label] = page
    return pages


def visit(pages: dict[str, Any], server: LiveServer, shots: Path, path: str, name: str) -> None:  # noqa: F811
    for label, page in pages.items():
        page.goto(f"{server.url}{path}")
        check_layout(page, shots, f"{name}-{label}")


def test_staff_pages_fit_a_desktop_and_a_phone(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    admin: UserFixture,
    alice: UserFixture,
    shots: Path,  # noqa: F811 - the fixture
) -> None:
    with httpx.Client(base_url=live_server.url, headers=admin.headers) as api:
        folder = api.post(
            "/api/v1/folders", json={"name": "Op KESTREL 2026-0423 CCTV", "parent_id": admin.root_id}
        ).json()
        name = "bwv-2026-0423-pc1234-a-rather-long-name-from-the-body-worn-camera.txt"
        made = api.put(f"/api/v1/folders/{folder['id']}/files/{name}", content=b"first").json()
        api.put(f"/api/v1/folders/{folder['id']}/files/{name}", content=b"second version")
        link = api.post(
            f"/api/v1/items/{made['id']}/shared-links", json={"download_limit": 2, "name": "For the CPS"}
        ).json()
        api.post(f"/api/v1/folders/{admin.root_id}/upload-requests", json={"title": "Dashcam footage"})
        locked = api.post(
            f"/api/v1/folders/{admin.root_id}/upload-requests",
            json={"title": "Bus CCTV", "password": "bus garage 42", "allowed_types": [".mp4"]},
        ).json()
        grant = api.post(
            f"/api/v1/items/{folder['id']}/collaborations", json={"user_email": alice.email, "role": "viewer"}
        ).json()
        group = api.post("/api/v1/groups", json={"name": "CPS Wessex, Complex Casework Unit"}).json()
        api.post(f"/api/v1/groups/{group['id']}/members", json={"email": alice.email})
    with httpx.Client(base_url=live_server.url) as visitor:  # the link is opened twice, downloaded once
        token = link["url"].rsplit("/s/", 1)[1]
        visitor.get(f"/s/{token}")
        visitor.get(f"/s/{token}")
        visitor.get(f"/s/{token}/content/{made['id']}")
    pages = open_at_both_widths(browser, live_server, admin.email)
    for path, name in [
        (f"/files/{admin.root_id}", "40-files"),
        (f"/files/{folder['id']}", "41-folder"),
        (f"/items/{made['id']}", "42-item"),
        ("/my/shared-links", "43-my-links"),
        ("/my/upload-requests", "44-my-requests"),
        (f"/my/shared-links/{link['id']}/revoke", "45-confirm-revoke"),
        ("/settings", "46-settings"),
        ("/admin/users", "47-admin-users"),
        ("/admin/groups", "48-admin-groups"),
        ("/admin/audit", "49-admin-audit"),
        ("/trash", "50-trash"),
        (f"/people/{grant['id']}/remove", "51-confirm-remove-person"),
        (f"/my/shared-links/{link['id']}", "53-link-timeline"),
    ]:
        visit(pages, live_server, shots, path, name)
    # Alice, given access, finds it under "Shared with me".
    for page in open_at_both_widths(browser, live_server, alice.email).values():
        page.goto(f"{live_server.url}/shared-with-me")
        page.get_by_role("link", name="Op KESTREL 2026-0423 CCTV").wait_for()
        label = "desktop" if page.viewport_size["width"] > 400 else "phone"
        check_layout(page, shots, f"52-shared-with-me-{label}")

    # The password step of an upload link, as the garage sees it.
    for label, (width, height) in WIDTHS.items():
        garage = browser.new_context(viewport={"width": width, "height": height}).new_page()
        garage.goto(on_live_server(locked["url"], live_server))
        check_layout(garage, shots, f"54-upload-password-{label}")
        garage.get_by_label("Password").fill("bus garage 42")
        garage.get_by_role("button", name="Continue").click()
        garage.get_by_text("Bus CCTV").first.wait_for()
        check_layout(garage, shots, f"55-upload-form-after-password-{label}")
