"""OpenID Connect sign-in against npm oidc-provider started by the tests, driven by httpx submitting the
provider's own login and consent forms."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest
from sqlalchemy import select, update

from strongroom.config import Settings
from strongroom.identity.models import Group, GroupMember, SsoRequest, User
from strongroom.runtime import Runtime
from tests.identity.conftest import audit_events
from tests.support import sso_providers
from tests.support.live import LiveServer
from tests.support.users import UserFixture

pytestmark = pytest.mark.interop


@pytest.fixture
def trust_email() -> bool:
    return False


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    app_url: str,
    oidc_provider: sso_providers.RunningProvider,
    trust_email: bool,
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
                "trust_email": trust_email,
            },
        },
    )


def _start(server: LiveServer, next_url: str = "/files") -> str:
    return f"{server.url}/auth/oidc/start?next={next_url}"


def _user(runtime: Runtime, email: str) -> User | None:
    with runtime.sessions() as session:
        return session.scalar(select(User).where(User.email_key == email))


def test_first_sign_in_makes_the_account_with_directory_groups_and_signs_in(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    login_page = browser.get(f"{sso_server.url}/login")
    assert "Sign in with your Kent Police account" in login_page.text

    answer = sso_providers.drive_oidc(
        browser, _start(sso_server, "/files?view=list"), app_url=sso_server.url, login="alice"
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/files?view=list"
    files = browser.get(f"{sso_server.url}/files", follow_redirects=True)
    assert files.status_code == 200
    assert "alice@force.police.test" in files.text or "Alice Smith" in files.text

    user = _user(runtime, "alice@force.police.test")
    assert user is not None
    assert user.display_name == "Alice Smith"
    assert user.password_hash is None
    assert user.root_folder_id is not None
    with runtime.sessions() as session:
        names = set(
            session.scalars(
                select(Group.name)
                .join(GroupMember)
                .where(GroupMember.user_id == user.id, Group.external_id.is_not(None))
            )
        )
    assert names == {"CID", "Major Crime"}
    signed_in = audit_events(runtime, "identity.user.logged_in")
    assert [event["details"]["method"] for event in signed_in] == ["oidc"]
    linked = audit_events(runtime, "identity.user.sso_linked")
    assert linked[0]["details"]["new_account"] is True

    # A second sign-in (new browser) finds the same account by the provider's subject: no new account.
    with httpx.Client(follow_redirects=False, timeout=60) as other:
        again = sso_providers.drive_oidc(other, _start(sso_server), app_url=sso_server.url, login="alice")
        assert again.status_code == 303
    with runtime.sessions() as session:
        assert session.scalar(select(User.id).where(User.email_key == "alice@force.police.test")) == user.id
    assert len(audit_events(runtime, "identity.user.sso_linked")) == 1


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_next_cannot_send_the_browser_off_site(
    sso_server: LiveServer, browser: httpx.Client, target: str
) -> None:
    answer = sso_providers.drive_oidc(
        browser, _start(sso_server, target), app_url=sso_server.url, login="alice"
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/files"


def test_replayed_state_and_code_are_refused_and_audited(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    callback = sso_providers.callback_url(browser, _start(sso_server), app_url=sso_server.url, login="alice")
    first = browser.get(callback)
    assert first.status_code == 303
    replay = browser.get(callback)
    assert replay.status_code == 401
    assert "already used" in replay.text
    refused = audit_events(runtime, "identity.user.login_failed")
    assert [event["details"] for event in refused] == [{"method": "oidc", "reason": "replayed"}]


def test_an_answer_opened_in_another_browser_is_refused(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    callback = sso_providers.callback_url(browser, _start(sso_server), app_url=sso_server.url, login="alice")
    with httpx.Client(follow_redirects=False, timeout=60) as attacker:  # login CSRF: the victim's code
        answer = attacker.get(callback)
    assert answer.status_code == 401
    assert _user(runtime, "alice@force.police.test") is None
    assert audit_events(runtime, "identity.user.login_failed")[0]["details"]["reason"] == "other_browser"


def test_the_provider_enforces_pkce_a_wrong_verifier_gets_no_tokens(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    callback = sso_providers.callback_url(browser, _start(sso_server), app_url=sso_server.url, login="alice")
    state = parse_qs(urlparse(callback).query)["state"][0]
    with runtime.sessions.begin() as session:
        session.execute(update(SsoRequest).where(SsoRequest.id == state).values(code_verifier="x" * 64))
    answer = browser.get(callback)
    assert answer.status_code == 401
    assert audit_events(runtime, "identity.user.login_failed")[0]["details"]["reason"] == "code_refused"


def test_an_existing_account_is_not_taken_over_by_an_untrusted_provider(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime, bob: UserFixture
) -> None:
    answer = sso_providers.drive_oidc(
        browser, _start(sso_server), app_url=sso_server.url, login="bob-verified"
    )
    assert answer.status_code == 401
    assert "already exists" in answer.text
    assert audit_events(runtime, "identity.user.login_failed")[0]["details"]["reason"] == "email_taken"
    assert audit_events(runtime, "identity.user.sso_linked") == []


@pytest.mark.parametrize("trust_email", [True])
def test_a_trusted_provider_links_an_existing_account_only_on_a_verified_email(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime, bob: UserFixture
) -> None:
    unverified = sso_providers.drive_oidc(
        browser, _start(sso_server), app_url=sso_server.url, login="bob-unverified"
    )
    assert unverified.status_code == 401
    with httpx.Client(follow_redirects=False, timeout=60) as other:
        verified = sso_providers.drive_oidc(
            other, _start(sso_server), app_url=sso_server.url, login="bob-verified"
        )
        assert verified.status_code == 303
        assert other.get(f"{sso_server.url}/files", follow_redirects=True).status_code == 200
    linked = audit_events(runtime, "identity.user.sso_linked")
    assert len(linked) == 1
    assert linked[0]["item"] == bob.email
    assert linked[0]["details"]["new_account"] is False


def test_sign_out_also_signs_out_at_the_provider(sso_server: LiveServer, browser: httpx.Client) -> None:
    sso_providers.drive_oidc(browser, _start(sso_server), app_url=sso_server.url, login="alice")
    files = browser.get(f"{sso_server.url}/files", follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', files.text)
    assert token is not None
    out = browser.post(f"{sso_server.url}/logout", data={"csrf_token": token.group(1)})
    assert out.status_code == 303
    hop = browser.get(urljoin(sso_server.url, out.headers["location"]))
    assert hop.status_code == 200
    provider_url = re.search(r'<a class="sr-button" href="([^"]+)"', hop.text)
    assert provider_url is not None
    confirm = browser.get(provider_url.group(1).replace("&amp;", "&"))
    form = re.search(r'<form[^>]*action="([^"]+)"', confirm.text)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text)
    assert form is not None
    assert xsrf is not None
    done = browser.post(
        urljoin(str(confirm.url), form.group(1)), data={"xsrf": xsrf.group(1), "logout": "yes"}
    )
    while done.status_code in {302, 303}:
        done = browser.get(urljoin(str(done.url), done.headers["location"]))
    assert str(done.url).startswith(f"{sso_server.url}/login?signed_out=1")
    assert "You have signed out." in done.text
    assert (
        "/login" in browser.get(f"{sso_server.url}/files").headers["location"]
    )  # Strongroom's session is over
    # ...and so is the provider's: the next sign-in asks for the login form again.
    again = browser.get(_start(sso_server))
    while again.status_code in {302, 303}:
        again = browser.get(urljoin(str(again.url), again.headers["location"]))
    assert 'name="prompt" value="login"' in again.text


def test_the_sign_out_hop_only_leads_to_the_provider(
    sso_server: LiveServer, browser: httpx.Client, oidc_provider: sso_providers.RunningProvider
) -> None:
    hop = browser.get(f"{sso_server.url}/auth/oidc/logout", params={"to": "https://evil.example/session/end"})
    assert hop.status_code == 303
    assert hop.headers["location"] == "/login?signed_out=1"
    # Starting with the end-session address is not enough: "../" (or more host name) leads elsewhere.
    for elsewhere in ("/session/end/../../auth?client_id=x", "/session/endless", ".evil.example/session/end"):
        hop = browser.get(f"{sso_server.url}/auth/oidc/logout", params={"to": oidc_provider.url + elsewhere})
        assert hop.status_code == 303, elsewhere
        assert hop.headers["location"] == "/login?signed_out=1"
