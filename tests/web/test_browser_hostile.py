"""Hostile uploads and framing, in a real browser (Debian chromium): an uploaded HTML or SVG file never
runs as a page of ours on any door, and no page of ours can be framed by another site.

Needs what tests/web/test_browser.py needs: chromium and playwright.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.interop

MARK = "PWNED-BY-UPLOAD"
HOSTILE = {
    "statement.html": f"<html><body><script>document.title='{MARK}'</script><p>hello</p></body></html>",
    "map.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="document.title=\''
        f"{MARK}'\"><script>document.title='{MARK}'</script><circle r='4'/></svg>"
    ),
}


def open_as_visitor(page: Any, url: str) -> tuple[bool, str]:
    """Go to `url`; whether the browser treated the answer as a download, and the page's title after."""
    downloaded = False

    def on_download(_download: Any) -> None:
        nonlocal downloaded
        downloaded = True

    page.on("download", on_download)
    try:
        page.goto(url)
    except Exception as exc:  # chromium aborts navigation when the answer is an attachment
        assert "Download is starting" in str(exc) or "ERR_ABORTED" in str(exc), exc  # noqa: PT017 - no raises() around a navigation that may or may not fail
        downloaded = True
    page.wait_for_timeout(300)
    return downloaded, page.title()


def test_uploaded_markup_never_runs_and_pages_cannot_be_framed(
    browser: Any,  # noqa: F811 - the fixture
    live_server: LiveServer,
    client: TestClient,
    alice: UserFixture,
) -> None:
    context = browser.new_context(accept_downloads=True)
    context.set_extra_http_headers({"Authorization": f"Bearer {alice.token}"})
    page = context.new_page()
    # WebDAV clients sign in with Basic (e-mail and a personal access token), as a drive would.
    drive = browser.new_context(
        accept_downloads=True, http_credentials={"username": alice.email, "password": alice.token}
    )
    drive_page = drive.new_page()
    visitor = browser.new_context(accept_downloads=True).new_page()
    for name, body in HOSTILE.items():
        put = client.put(
            f"/api/v1/folders/{alice.root_id}/files/{name}",
            content=body.encode(),
            headers={
                **alice.headers,
                "Content-Type": "text/html" if name.endswith("html") else "image/svg+xml",
            },
        )
        assert put.status_code == 201, put.text
        file_id = put.json()["id"]
        link = client.post(
            f"/api/v1/items/{file_id}/shared-links", json={"access_level": "anyone"}, headers=alice.headers
        ).json()
        token = link["url"].rsplit("/s/", 1)[1]
        for who, url in (
            (page, f"/api/v1/files/{file_id}/content"),
            (page, f"/api/v1/files/{file_id}/content?inline=1"),
            (drive_page, f"/dav/{name}"),
            (visitor, f"/s/{token}/content/{file_id}"),
            (visitor, f"/s/{token}/content/{file_id}?download=1"),
        ):
            downloaded, title = open_as_visitor(who, live_server.url + url)
            assert title != MARK, f"{name} ran as a page at {url}"
            assert downloaded, f"{name} at {url} was shown, not downloaded"

    # Framing: another site's page that frames our sign-in page gets nothing from it.
    framer = context.new_page()
    framer.set_content(f'<iframe id="f" src="{live_server.url}/login" width="600" height="400"></iframe>')
    framer.wait_for_timeout(1500)
    framed = [frame for frame in framer.frames if frame != framer.main_frame]
    assert framed, "the iframe did not even start"
    for frame in framed:
        text = ""
        try:
            text = frame.inner_text("body", timeout=1000)
        except Exception:  # a blocked frame has no document of ours to read
            text = ""
        assert "password" not in text.lower(), "our sign-in page rendered inside another site's frame"
    context.close()
    drive.close()
