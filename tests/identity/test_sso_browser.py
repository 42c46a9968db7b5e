"""Single sign-on in a real browser (Debian chromium driven by Playwright): the sign-in page's buttons,
the providers' own pages, and back to the user's files. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.config import Settings
from tests.support import sso_providers
from tests.support.live import LiveServer

pytestmark = pytest.mark.interop

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    app_url: str,
    oidc_provider: sso_providers.RunningProvider,
    saml_idp: sso_providers.RunningProvider,
) -> Settings:
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},
        server={"public_url": app_url},
        sso={
            "label": "your Kent Police account",
            "oidc": {
                "issuer": oidc_provider.url,
                "client_id": "strongroom",
                "client_secret": "strongroom-secret",
                "scopes": ["openid", "email", "profile", "groups"],
            },
            "saml": {"idp_metadata_url": f"{saml_idp.url}/saml2/idp/metadata.php"},
        },
    )


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("browser tests need chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield instance
        instance.close()


def _shots(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_oidc_sign_in_from_the_sign_in_page(
    sso_server: LiveServer, chromium: Any, artifacts_dir: Path
) -> None:
    page = chromium.new_page()
    page.goto(f"{sso_server.url}/login?next=/files")
    page.screenshot(path=str(_shots(artifacts_dir) / "sso-sign-in-page.png"), full_page=True)
    page.get_by_role("link", name="Sign in with your Kent Police account", exact=True).click()
    page.locator('input[name="login"]').fill("alice")
    page.locator('input[name="password"]').fill("any password")
    page.locator('button[type="submit"]').first.click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page
    page.wait_for_url(f"{sso_server.url}/files/**")
    page.screenshot(path=str(_shots(artifacts_dir) / "sso-oidc-signed-in.png"), full_page=True)
    assert "Alice Smith" in page.content()  # the name from the provider's claims, in the page header


def test_saml_sign_in_from_the_sign_in_page(
    sso_server: LiveServer, chromium: Any, artifacts_dir: Path
) -> None:
    page = chromium.new_page()
    page.goto(f"{sso_server.url}/login?next=/files")
    page.get_by_role("link", name="Sign in with your Kent Police account (SAML)").click()
    page.locator('input[name="username"]').fill("carol")
    page.locator('input[name="password"]').fill("carol-pw")
    page.locator('button[type="submit"], input[type="submit"]').first.click()
    page.wait_for_url(f"{sso_server.url}/files/**")
    page.screenshot(path=str(_shots(artifacts_dir) / "sso-saml-signed-in.png"), full_page=True)
    assert "Carol Jones" in page.content()  # the name from the IdP's signed attributes
