"""Folder links in a real browser (issue 15, points 1, 4 and 7): browse down into a subfolder, download
a file and a chosen selection as one zip, see the downloads left go down without reloading, and a
refused download explained on a page; staff download a folder as a zip. Screenshots at 1280 px and
390 px land in test-artifacts/screenshots/15-share-*.png; axe-core stays clean.

Needs what tests/web/test_browser.py needs: chromium, axe-core, playwright.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from strongroom.runtime import Runtime
from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_browser import browser, check_page, shots, sign_in  # noqa: F401 - fixtures
from tests.web.test_browser_external import link, put_file

pytestmark = pytest.mark.interop

WIDTHS = {"1280": {"width": 1280, "height": 860}, "390": {"width": 390, "height": 844}}


def folder(client: TestClient, owner: UserFixture, name: str, parent: str = "root") -> str:
    r = client.post("/api/v1/folders", json={"name": name, "parent_id": parent}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_folder_link_works_all_the_way_down_in_a_browser(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    client: TestClient,
    runtime: Runtime,
    alice: UserFixture,
    shots: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    runtime.settings.sharing.force_name = "Kent Police"
    case = folder(client, alice, "Op KESTREL")
    garage = folder(client, alice, "Garage CCTV", case)
    bus = folder(client, alice, "Bus 42 cameras", garage)
    put_file(client, alice, garage, "index of exports.txt", b"cameras 1-4, 07:00-09:00")
    camera = put_file(client, alice, bus, "camera 1 - front door.mp4", b"\x00" * 300_000)
    put_file(client, alice, bus, "camera 2 - platform.mp4", b"\x01" * 200_000)
    _, path = link(
        client,
        alice,
        garage,
        download_limit=2,
        about="R v Smith - CCTV from the 42 bus",
        expires_in_days=30,
        name="CPS - R v Smith",
    )

    for width, viewport in WIDTHS.items():
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        page = context.new_page()
        page.goto(live_server.url + path)
        assert page.get_by_text("Kent Police").first.is_visible()
        assert page.get_by_text("R v Smith - CCTV from the 42 bus").is_visible()
        check_page(page, shots, f"15-share-folder-{width}")
        page.get_by_role("link", name="Bus 42 cameras").click()
        page.wait_for_url(f"**/folders/{bus}")
        assert page.get_by_role("link", name="camera 1 - front door.mp4").is_visible()
        # The breadcrumb leads back to the linked folder, never above it.
        assert page.get_by_role("link", name="Garage CCTV").is_visible()
        assert page.get_by_text("Op KESTREL").count() == 0
        check_page(page, shots, f"15-share-subfolder-{width}")
        context.close()

    context = browser.new_context(viewport=WIDTHS["1280"], accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}{path}/files/{camera}")
    assert page.locator("[data-remaining]").inner_text().strip() == "2"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download camera 1 - front door.mp4").click()
    assert download.value.path() is not None
    # The count on the page follows, without a reload.
    expect(page.locator("[data-remaining]")).to_have_text("1")
    check_page(page, shots, "15-share-file-1280")

    page.goto(f"{live_server.url}{path}/folders/{bus}")
    page.get_by_label("Choose camera 1 - front door.mp4").check()
    page.get_by_label("Choose camera 2 - platform.mp4").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the chosen items as a zip").click()
    saved = tmp_path / "chosen.zip"
    download.value.save_as(saved)
    assert sorted(zipfile.ZipFile(saved).namelist()) == [
        "camera 1 - front door.mp4",
        "camera 2 - platform.mp4",
    ]
    assert download.value.suggested_filename == "Selected files.zip"
    # Used up: the page says so and takes the buttons away.
    expect(page.locator("[data-used-up]")).to_be_visible()
    assert page.get_by_role("button", name="Download the chosen items as a zip").is_hidden()
    check_page(page, shots, "15-share-used-up-1280")

    # A refused download is a page a person can read, with a way back, not JSON.
    for width, viewport in WIDTHS.items():
        refused = browser.new_context(viewport=viewport).new_page()
        refused.goto(f"{live_server.url}{path}/content/{camera}")
        assert refused.get_by_role("heading", name="This link is no longer available").is_visible()
        assert refused.get_by_text("used as many times as it allows").is_visible()
        assert refused.get_by_role("link", name="Back to what was shared with you").is_visible()
        check_page(refused, shots, f"15-share-refused-{width}")
        refused.context.close()
    context.close()

    # Staff get the same zip from the folder page.
    staff = browser.new_context(viewport=WIDTHS["1280"], accept_downloads=True).new_page()
    sign_in(staff, live_server, alice.email)
    staff.goto(f"{live_server.url}/files/{garage}")
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Download as zip").click()
    saved = tmp_path / "staff.zip"
    download.value.save_as(saved)
    assert sorted(zipfile.ZipFile(saved).namelist()) == [
        "Garage CCTV/Bus 42 cameras/camera 1 - front door.mp4",
        "Garage CCTV/Bus 42 cameras/camera 2 - platform.mp4",
        "Garage CCTV/index of exports.txt",
    ]
    staff.context.close()
