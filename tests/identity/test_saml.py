"""SAML 2.0 sign-in against SimpleSAMLphp (Debian) started by the tests, and forged responses.

Each forgery starts from a genuine response to a fresh request, then breaks one thing. Where the rule
under test is not the signature (audience, recipient, expiry), the tests re-sign the changed assertion
with the IdP's own key (they made it), so only that rule can refuse it.
"""

from __future__ import annotations

import base64
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.app import create_app
from strongroom.config import Settings
from strongroom.identity.models import Group, GroupMember, User
from strongroom.runtime import Runtime
from tests.identity.conftest import audit_events
from tests.support import sso_providers
from tests.support.live import LiveServer

pytestmark = [
    pytest.mark.interop,
    # pysaml2 leaves the temporary PEM file of a failed signature check to the garbage collector.
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <_io.FileIO name='/tmp/tmp\w+\.pem'"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]

ASSERTION = re.compile(r"<saml:Assertion\b.*?</saml:Assertion>", re.DOTALL)
SIGNATURE = re.compile(r"<ds:Signature\b.*?</ds:Signature>", re.DOTALL)


@pytest.fixture
def allow_idp_initiated() -> bool:
    return False  # a test turns it on with @pytest.mark.parametrize("allow_idp_initiated", [True])


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    app_url: str,
    saml_idp: sso_providers.RunningProvider,
    allow_idp_initiated: bool,
) -> Settings:
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},
        server={"public_url": app_url},
        sso={
            "label": "your Kent Police account",
            "saml": {
                "idp_metadata_url": f"{saml_idp.url}/saml2/idp/metadata.php",
                "allow_idp_initiated": allow_idp_initiated,
            },
        },
    )


def _genuine(server: LiveServer, browser: httpx.Client, next_url: str = "/files") -> str:
    """A genuine SAMLResponse (decoded XML) from the IdP to a request Strongroom just sent."""
    response, _ = sso_providers.saml_response_for(
        browser, f"{server.url}/auth/saml/start?next={next_url}", user="alice"
    )
    return base64.b64decode(response).decode()


def _post(server: LiveServer, browser: httpx.Client, xml: str, relay: str = "") -> httpx.Response:
    encoded = base64.b64encode(xml.encode()).decode()
    return browser.post(f"{server.url}/auth/saml/acs", data={"SAMLResponse": encoded, "RelayState": relay})


def _resign(xml: str, idp_dir: Path, tmp_path: Path) -> str:
    """Sign the (changed) assertion again with the IdP's key, as a compromised-free IdP would have."""
    # SimpleSAMLphp signs the Response as well; Strongroom needs only the assertion signed, so drop the
    # outer signature (it would no longer match) and sign the assertion's anew.
    head, assertion_at = xml, xml.index("<saml:Assertion")
    head = SIGNATURE.sub("", xml[:assertion_at], count=1)
    source, signed = tmp_path / "in.xml", tmp_path / "out.xml"
    source.write_text(head + xml[assertion_at:])
    done = subprocess.run(
        [
            "xmlsec1",
            "--sign",
            "--privkey-pem",
            f"{idp_dir}/cert/idp.key,{idp_dir}/cert/idp.crt",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            "--output",
            str(signed),
            str(source),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return signed.read_text()


def _refused_reason(runtime: Runtime) -> str:
    return str(audit_events(runtime, "identity.user.login_failed")[-1]["details"]["reason"])


def test_sign_in_makes_the_account_with_directory_groups(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    login_page = browser.get(f"{sso_server.url}/login")
    assert 'href="/auth/saml/start?next=/files"' in login_page.text.replace("%2F", "/")
    xml = _genuine(sso_server, browser, next_url="/files?view=grid")
    answer = _post(sso_server, browser, xml, relay="https://evil.example/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/files?view=grid"  # from the request, never from RelayState
    assert browser.get(f"{sso_server.url}/files", follow_redirects=True).status_code == 200
    with runtime.sessions() as session:
        user = session.scalar(select(User).where(User.email_key == "alice@force.police.test"))
        assert user is not None
        assert user.display_name == "Alice Smith"
        names = set(
            session.scalars(
                select(Group.name)
                .join(GroupMember)
                .where(GroupMember.user_id == user.id, Group.external_id.is_not(None))
            )
        )
    assert names == {"CID", "Major Crime"}
    signed_in = audit_events(runtime, "identity.user.logged_in")
    assert [event["details"]["method"] for event in signed_in] == ["saml"]

    # Signing in again (another browser) finds the same account by the IdP's persistent NameID.
    with sso_providers.browser_client() as other:
        assert _post(sso_server, other, _genuine(sso_server, other)).status_code == 303
    assert _user_count(runtime) == 1
    assert len(audit_events(runtime, "identity.user.logged_in")) == 2
    assert len(audit_events(runtime, "identity.user.sso_linked")) == 1


def test_the_same_response_posted_twice_is_refused(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    xml = _genuine(sso_server, browser)
    stolen = dict(browser.cookies)  # the sign-in cookie too, as if copied off the victim's machine
    assert _post(sso_server, browser, xml).status_code == 303
    assert _post(sso_server, browser, xml).status_code == 401  # the sign-in cookie was single use
    assert _refused_reason(runtime) == "no_browser_cookie"
    with sso_providers.browser_client() as attacker:
        for name, value in stolen.items():
            attacker.cookies.set(name, value, domain="127.0.0.1")
        replay = _post(sso_server, attacker, xml)
    assert replay.status_code == 401
    assert _refused_reason(runtime) == "replayed"


def test_a_response_started_in_another_browser_is_refused(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    """Login CSRF: an attacker's own genuine answer, posted into the victim's browser, must not sign the
    victim in as the attacker (nor may the victim's answer work in the attacker's browser)."""
    attackers_answer = _genuine(sso_server, browser)
    with sso_providers.browser_client() as victim:
        refused = _post(sso_server, victim, attackers_answer)  # no sign-in started in this browser
        assert refused.status_code == 401
        assert "cannot be matched to your browser" in refused.text
        assert _refused_reason(runtime) == "no_browser_cookie"
        _genuine(sso_server, victim)  # the victim has a sign-in of their own in flight
        assert _post(sso_server, victim, attackers_answer).status_code == 401
        assert _refused_reason(runtime) == "other_browser"
        assert victim.get(f"{sso_server.url}/files").status_code == 303  # still signed out
    assert _user_count(runtime) == 0
    # The refusals did not use up the sign-in of the browser that started it.
    assert _post(sso_server, browser, attackers_answer).status_code == 303
    assert _user_count(runtime) == 1


def test_the_sign_in_cookie_comes_back_with_the_idps_cross_site_post(
    sso_server: LiveServer, browser: httpx.Client
) -> None:
    started = browser.get(f"{sso_server.url}/auth/saml/start?next=/files")
    assert started.status_code == 303
    cookie = next(c for c in started.headers.get_list("set-cookie") if c.startswith("__Host-sr_saml="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "max-age"} <= attributes
    assert "samesite=none" in cookie.lower().replace(" ", "")
    assert "path=/;" in cookie.lower().replace(" ", "") + ";"


def test_an_unsigned_assertion_is_refused(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    xml = SIGNATURE.sub("", _genuine(sso_server, browser))
    assert "<ds:Signature" not in xml
    answer = _post(sso_server, browser, xml)
    assert answer.status_code == 401
    assert _user_count(runtime) == 0


def test_an_altered_attribute_breaks_the_signature(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    xml = _genuine(sso_server, browser).replace("alice@force.police.test", "chief@force.police.test")
    answer = _post(sso_server, browser, xml)
    assert answer.status_code == 401
    assert _user_count(runtime) == 0


def test_signature_wrapping_an_unsigned_assertion_beside_the_signed_one_is_refused(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    xml = _genuine(sso_server, browser)
    original = ASSERTION.search(xml)
    assert original is not None
    evil = SIGNATURE.sub("", original.group(0))
    evil = re.sub(r'ID="[^"]+"', 'ID="_evil"', evil, count=1).replace(
        "alice@force.police.test", "chief@force.police.test"
    )
    evil = evil.replace(">alice<", ">chief<")
    wrapped = xml[: original.start()] + evil + original.group(0) + xml[original.end() :]
    assert _post(sso_server, browser, wrapped).status_code == 401
    assert _user_count(runtime) == 0


def test_signature_wrapping_with_the_signed_assertion_hidden_in_extensions_is_refused(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    xml = _genuine(sso_server, browser)
    original = ASSERTION.search(xml)
    assert original is not None
    signature = SIGNATURE.search(original.group(0))
    assert signature is not None
    # The evil assertion carries the genuine signature (which points at the genuine assertion's ID),
    # and the genuine assertion is tucked into <samlp:Extensions> for a naive verifier to find.
    evil = re.sub(r'ID="[^"]+"', 'ID="_evil"', original.group(0), count=1)
    evil = evil.replace("alice@force.police.test", "chief@force.police.test").replace(">alice<", ">chief<")
    extensions = f"<samlp:Extensions>{original.group(0)}</samlp:Extensions>"
    status_at = xml.index("<samlp:Status")
    wrapped = xml[:status_at] + extensions + xml[status_at : original.start()] + evil + xml[original.end() :]
    assert _post(sso_server, browser, wrapped).status_code == 401
    assert _user_count(runtime) == 0


@pytest.mark.parametrize(
    "breakage",
    ["wrong_audience", "wrong_recipient", "expired"],
)
def test_a_re_signed_assertion_that_breaks_a_rule_is_refused(
    sso_server: LiveServer,
    browser: httpx.Client,
    runtime: Runtime,
    saml_idp_dir: Path,
    tmp_path: Path,
    breakage: str,
) -> None:
    xml = _genuine(sso_server, browser)
    if breakage == "wrong_audience":
        xml = re.sub(
            r"<saml:Audience>[^<]+</saml:Audience>",
            "<saml:Audience>https://other.example/sp</saml:Audience>",
            xml,
        )
    elif breakage == "wrong_recipient":
        xml = re.sub(r'Recipient="[^"]+"', 'Recipient="https://other.example/acs"', xml)
    else:
        past = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        long_ago = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = re.sub(r'NotOnOrAfter="[^"]+"', f'NotOnOrAfter="{past}"', xml)
        xml = re.sub(r'NotBefore="[^"]+"', f'NotBefore="{long_ago}"', xml)
    resigned = _resign(xml, saml_idp_dir, tmp_path)
    assert _post(sso_server, browser, resigned).status_code == 401
    assert _user_count(runtime) == 0


def test_a_re_signed_but_otherwise_unchanged_assertion_is_accepted(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime, saml_idp_dir: Path, tmp_path: Path
) -> None:
    """The control for the test above: re-signing alone does not make the SP refuse."""
    resigned = _resign(_genuine(sso_server, browser), saml_idp_dir, tmp_path)
    assert _post(sso_server, browser, resigned).status_code == 303
    assert _user_count(runtime) == 1


def test_a_response_nobody_asked_for_is_refused(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    xml = _genuine(sso_server, browser)
    unsolicited = re.sub(r'InResponseTo="[^"]+"', 'InResponseTo="_never_sent"', xml)
    assert _post(sso_server, browser, unsolicited).status_code == 401
    assert _refused_reason(runtime) == "unknown_request"


def test_an_idp_initiated_response_is_refused_by_default(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    xml = re.sub(r' InResponseTo="[^"]+"', "", _genuine(sso_server, browser))
    assert "InResponseTo" not in xml
    refused = _post(sso_server, browser, xml)
    assert refused.status_code == 401
    assert "must be started from Strongroom" in refused.text
    assert _refused_reason(runtime) == "unsolicited"
    assert _user_count(runtime) == 0


@pytest.mark.parametrize("allow_idp_initiated", [True])
def test_an_idp_initiated_sign_in_works_when_allowed(
    sso_server: LiveServer,
    browser: httpx.Client,
    runtime: Runtime,
    saml_idp: sso_providers.RunningProvider,
) -> None:
    portal = f"{saml_idp.url}/saml2/idp/SSOService.php?spentityid={sso_server.url}/auth/saml/metadata"
    response, _ = sso_providers.saml_response_for(browser, portal, user="alice")
    assert "InResponseTo" not in base64.b64decode(response).decode()
    answer = browser.post(f"{sso_server.url}/auth/saml/acs", data={"SAMLResponse": response})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/files"
    assert _user_count(runtime) == 1
    # Still once only.
    with sso_providers.browser_client() as other:
        replay = other.post(f"{sso_server.url}/auth/saml/acs", data={"SAMLResponse": response})
    assert replay.status_code == 401
    assert _refused_reason(runtime) == "replayed"


def test_a_next_page_that_browsers_read_as_another_site_is_not_followed(
    sso_server: LiveServer, browser: httpx.Client
) -> None:
    xml = _genuine(sso_server, browser, next_url="/%09/evil.example/")
    answer = _post(sso_server, browser, xml)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/files"


def test_xml_with_a_doctype_is_refused_before_parsing(
    sso_server: LiveServer, browser: httpx.Client, runtime: Runtime
) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&a;</samlp:Response>'
    )
    assert _post(sso_server, browser, bomb).status_code == 401
    assert _refused_reason(runtime) == "malformed"


@pytest.mark.filterwarnings("ignore:dev mode. public_url http.//sr.internal is plain HTTP")
def test_on_plain_http_to_another_host_the_sign_in_is_not_started(settings: Settings) -> None:
    """Browsers drop the Secure sign-in cookie there, so no answer could be matched: say so at once,
    before the user signs in at the IdP for nothing."""
    plain = Settings.model_validate(
        {
            **settings.model_dump(),
            "server": {**settings.server.model_dump(), "public_url": "http://sr.internal"},
        }
    )
    runtime = Runtime.build(plain)
    try:
        with TestClient(create_app(runtime)) as browser:
            page = browser.get("/auth/saml/start?next=/files", follow_redirects=False)
    finally:
        runtime.close()
    assert page.status_code == 503
    assert "needs Strongroom to be reached over HTTPS" in page.text
    assert "__Host-sr_saml" not in page.headers.get("set-cookie", "")


def test_sp_metadata_is_published(sso_server: LiveServer, browser: httpx.Client) -> None:
    metadata = browser.get(f"{sso_server.url}/auth/saml/metadata")
    assert metadata.status_code == 200
    assert f'entityID="{sso_server.url}/auth/saml/metadata"' in metadata.text
    assert f"{sso_server.url}/auth/saml/acs" in metadata.text
    assert 'WantAssertionsSigned="true"' in metadata.text


def _user_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return len(list(session.scalars(select(User.id))))
