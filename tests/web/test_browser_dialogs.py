"""Dialogs in a real browser (Debian chromium), on a phone and a desktop: the upload-request dialog
sets the size and type limits; a refusal shows beside the button just pressed, in view, and takes
focus; the garage's upload mails the owner a link to the web page (not to JSON).

Needs what tests/web/test_browser.py needs: chromium, playwright and axe-core.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.mail_sink import Sink
from tests.web.test_browser import browser, mail, on_live_server, settings, shots, sign_in  # noqa: F401
from tests.web.test_browser_layout import WIDTHS, check_layout

pytestmark = pytest.mark.interop

IN_VIEW = """el => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && document.activeElement === el; }"""


def test_upload_request_dialog_sets_limits_and_shows_refusals_where_the_user_looks(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    alice: UserFixture,
    shots: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
    mail: tuple[Any, Sink],  # noqa: F811 - the fixture
) -> None:
    _, sink = mail
    for label, (width, height) in WIDTHS.items():
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        sign_in(page, live_server, alice.email)
        page.goto(f"{live_server.url}/files/{alice.root_id}")
        page.get_by_role("button", name="Request files").click()
        page.get_by_label("Title they will see").fill(f"Dashcam footage ({label})")
        # Too many kinds of file: the server refuses, and says so beside the button just pressed.
        page.get_by_label("Only these kinds of file").fill(", ".join(f".e{n}" for n in range(60)))
        page.get_by_role("button", name="Create upload link").click()
        error = page.locator("#dialog-upload-request [data-error]")
        error.wait_for(state="visible")
        assert error.evaluate(IN_VIEW), f"the refusal is out of view or without focus ({label})"
        check_layout(page, shots, f"60-upload-request-refused-{label}")

        page.get_by_label("Only these kinds of file").fill(".mp4, .avi, video/*")
        page.get_by_label("Largest upload (GB)").fill("0.002")
        page.get_by_role("button", name="Create upload link").click()
        page.wait_for_selector("[data-request-result]:visible")
        assert error.is_hidden() or error.inner_text() == ""
        check_layout(page, shots, f"61-upload-request-made-{label}")
        request_url = on_live_server(page.locator("#request-url").input_value(), live_server)

    with httpx.Client(base_url=live_server.url, headers=alice.headers) as api:
        [made] = [
            r
            for r in api.get(f"/api/v1/folders/{alice.root_id}/upload-requests").json()
            if r["title"] == "Dashcam footage (phone)"
        ]
    assert made["max_bytes"] == 2_000_000
    assert made["allowed_types"] == [".mp4", ".avi", "video/*"]

    # The garage sends a file of a kind the link takes; the owner's mail links to the page.
    garage = browser.new_context().new_page()
    garage.goto(request_url)
    clip = tmp_path / "camera-3.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 4000)
    garage.get_by_label("Your name").fill("Sam Driver")
    garage.get_by_label("Your e-mail address").fill("sam@garage.example.test")
    garage.set_input_files("#files", str(clip))
    garage.get_by_role("button", name="Send files").click()
    garage.wait_for_selector("text=Receipt", timeout=60_000)
    body = wait_for_mail(sink, alice.email)
    assert re.search(r"/files/fo_\w+", body), body
    assert "/api/v1" not in body


def wait_for_mail(sink: Sink, to: str) -> str:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in sink.messages:
            if to in str(message["To"]):
                part = message.get_body(preferencelist=("plain",))
                return str(part.get_content()) if part else ""
        time.sleep(0.1)
    msg = f"no mail to {to}"
    raise AssertionError(msg)


def test_revoking_a_link_in_the_share_dialog_asks_first(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    alice: UserFixture,
    shots: Path,  # noqa: F811 - the fixture
) -> None:
    with httpx.Client(base_url=live_server.url, headers=alice.headers) as api:
        made = api.put(f"/api/v1/folders/{alice.root_id}/files/statement.txt", content=b"statement").json()
        link = api.post(f"/api/v1/items/{made['id']}/shared-links", json={"name": "For the CPS"}).json()
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        sign_in(page, live_server, alice.email)
        page.goto(f"{live_server.url}/items/{made['id']}")
        page.get_by_role("button", name="Share").first.click()
        revoke = page.locator("#dialog-share [data-share-links] button", has_text="Revoke")
        revoke.click()
        page.get_by_role("button", name="Yes, revoke it now").wait_for()
        assert api.get(f"/api/v1/shared-links/{link['id']}").json()["revoked_at"] is None, (
            "asking is not revoking"
        )
        check_layout(page, shots, "62-share-dialog-confirm-revoke-phone")
        page.get_by_role("button", name="Yes, revoke it now").click()
        page.locator("#dialog-share [data-share-links]", has_text="No links yet").wait_for()
        assert api.get(f"/api/v1/shared-links/{link['id']}").json()["revoked_at"] is not None
