"""Security keys (WebAuthn) in a real browser: Chromium's virtual authenticator (DevTools protocol)
registers a key under "Second factor", then signs in with it after the password."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import LiveServer
from tests.support.users import PASSWORD, UserFixture

pytestmark = pytest.mark.interop

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FILES = re.compile(r"^http://localhost:\d+/files")


@pytest.fixture
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("needs Debian chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # WebAuthn refuses IP addresses as the site's name: browse as localhost, resolved to the server.
        instance = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--host-resolver-rules=MAP localhost 127.0.0.1"]
        )
        yield instance
        instance.close()


def no_serious_axe_violations(page: Any) -> None:
    """axe-core (through DevTools: the CSP refuses inline script) finds nothing serious on the page."""
    if not AXE.exists():
        return
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v["id"] for v in result["violations"] if v["impact"] in {"serious", "critical"}]
    assert not bad, bad


def sign_in_with_password(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_security_key_is_added_and_then_needed_to_sign_in(
    browser: Any, live_server: LiveServer, alice: UserFixture
) -> None:
    base = f"http://localhost:{live_server.port}"
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": False,
                "isUserVerified": False,
                "automaticPresenceSimulation": True,
            }
        },
    )
    sign_in_with_password(page, base, alice.email)
    page.wait_for_url(FILES)
    page.goto(f"{base}/settings/mfa")
    no_serious_axe_violations(page)
    page.get_by_label("Name of the new key").fill("YubiKey on lanyard")
    page.get_by_role("button", name="Add a security key").click()
    page.get_by_role("cell", name="YubiKey on lanyard", exact=True).wait_for()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]})
    assert len(credentials["credentials"]) == 1

    # A new browser session: the password is not enough any more; the key finishes the sign-in.
    context.clear_cookies()
    sign_in_with_password(page, base, alice.email)
    page.wait_for_url(re.compile(r"/login/mfa"))
    no_serious_axe_violations(page)
    page.get_by_role("button", name="Use your security key").click()
    page.wait_for_url(FILES)
    assert "/login" not in page.url
    after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]})
    assert after["credentials"][0]["signCount"] >= 1

    # Without the key (authenticator removed), the sign-in stops at the second step.
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator["authenticatorId"]})
    context.clear_cookies()
    sign_in_with_password(page, base, alice.email)
    page.wait_for_url(re.compile(r"/login/mfa"))
    context.close()
