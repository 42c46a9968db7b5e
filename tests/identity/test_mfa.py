"""A second factor for local accounts: an authenticator app (TOTP) with one-time recovery codes; the
password alone then opens nothing, wrong codes count towards lockout; and a force can switch local
passwords off. API and WebDAV take personal access tokens only, never a password."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.app import create_app
from strongroom.config import Settings
from strongroom.db.session import transaction
from strongroom.identity.models import TotpSecret
from strongroom.runtime import Runtime
from tests.api.test_tus import TUS
from tests.support.live import LiveServer
from tests.support.users import PASSWORD, UserFixture, make_user
from tests.web.test_pages import login_csrf, sign_in


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def password_step(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": login_csrf(client), "next": "/files"},
        follow_redirects=False,
    )


def enrol_totp(client: TestClient, runtime: Runtime, alice: UserFixture) -> tuple[pyotp.TOTP, list[str]]:
    sign_in(client, alice.email)
    page = client.get("/settings/mfa")
    begun = client.post("/settings/mfa/totp", data={"csrf_token": form_token(page.text)})
    secret = re.search(r'id="totp-secret" readonly value="([A-Z2-7]+)"', begun.text)
    assert secret, begun.text
    totp = pyotp.TOTP(secret.group(1))
    wrong = client.post(
        "/settings/mfa/totp/confirm", data={"code": "000000", "csrf_token": form_token(begun.text)}
    )
    assert wrong.status_code == 400
    done = client.post(
        "/settings/mfa/totp/confirm", data={"code": totp.now(), "csrf_token": form_token(begun.text)}
    )
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", done.text)
    assert len(codes) == 10
    assert done.headers["Cache-Control"] == "no-store"
    client.cookies.clear()
    return totp, codes


def use_up_step(runtime: Runtime, alice: UserFixture) -> None:
    """Forget the last accepted step, as if 30 seconds had passed (codes are accepted once per step)."""
    with transaction(runtime.sessions) as session:
        row = session.scalar(select(TotpSecret).where(TotpSecret.user_id == alice.id))
        assert row is not None
        row.last_step = None


def test_with_an_authenticator_app_a_password_alone_opens_nothing(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    totp, codes = enrol_totp(client, runtime, alice)
    first = password_step(client, alice.email)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login/mfa")
    assert client.get("/files", follow_redirects=False).status_code == 303  # no session yet
    assert client.get("/login/mfa").status_code == 200
    wrong = client.post("/login/mfa", data={"code": "123456", "next": "/files"}, follow_redirects=False)
    assert wrong.status_code == 401
    use_up_step(runtime, alice)
    code = totp.now()
    done = client.post("/login/mfa", data={"code": code, "next": "/files"}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/files").status_code == 200

    # The same code again is refused (replay), even once the clock has moved into the next step;
    # a recovery code works exactly once.
    client.cookies.clear()
    password_step(client, alice.email)
    replay = client.post("/login/mfa", data={"code": code, "next": "/files"}, follow_redirects=False)
    assert replay.status_code == 401
    recovered = client.post(
        "/login/mfa", data={"code": codes[0].upper(), "next": "/files"}, follow_redirects=False
    )
    assert recovered.status_code == 303
    client.cookies.clear()
    password_step(client, alice.email)
    again = client.post("/login/mfa", data={"code": codes[0], "next": "/files"}, follow_redirects=False)
    assert again.status_code == 401


def test_the_second_step_needs_the_password_step_first(client: TestClient) -> None:
    assert client.post("/login/mfa", data={"code": "123456"}, follow_redirects=False).status_code == 303
    assert client.get("/login/mfa", follow_redirects=False).headers["location"] == "/login"


def test_a_force_can_switch_local_passwords_off(settings: Settings, alice: UserFixture) -> None:
    settings.accounts.local_passwords = False
    runtime = Runtime.build(settings)
    try:
        with TestClient(create_app(runtime)) as client:
            refused = password_step(client, alice.email)
            assert refused.status_code == 401
            assert "single sign-on" in refused.text
            # Tokens still work for scripts and drives.
            assert client.get("/api/v1/me", headers=alice.headers).status_code == 200
    finally:
        runtime.close()


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        yield client


def test_api_webdav_tus_and_scim_never_take_an_account_password(
    http: httpx.Client, alice: UserFixture
) -> None:
    basic = (alice.email, PASSWORD)
    assert http.get("/api/v1/me", auth=basic).status_code == 401
    assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {PASSWORD}"}).status_code == 401
    assert http.request("PROPFIND", "/dav/", auth=basic, headers={"Depth": "0"}).status_code == 401
    assert (
        http.request("PROPFIND", "/dav/", auth=(alice.email, alice.token), headers={"Depth": "0"}).status_code
        == 207
    )
    created = http.post("/api/v1/uploads", auth=basic, headers={**TUS, "Upload-Length": "10"})
    assert created.status_code == 401
    assert http.get("/scim/v2/Users", auth=basic).status_code == 401
    assert http.get("/api/v1/me", headers=alice.headers).status_code == 200


def test_an_account_with_mfa_still_uses_tokens_for_scripts(runtime: Runtime) -> None:
    carol = make_user(runtime, "carol@force.police.test")
    with transaction(runtime.sessions) as session:
        session.add(
            TotpSecret(
                user_id=carol.id,
                secret=pyotp.random_base32(),
                created_at=runtime.clock.now(),
                confirmed_at=runtime.clock.now(),
            )
        )
    with TestClient(create_app(runtime)) as client:
        assert client.get("/api/v1/me", headers=carol.headers).status_code == 200
        assert password_step(client, carol.email).headers["location"].startswith("/login/mfa")


def test_an_admin_removes_the_second_factors_of_someone_who_lost_them(
    client: TestClient, runtime: Runtime, alice: UserFixture, admin: UserFixture
) -> None:
    enrol_totp(client, runtime, alice)
    assert password_step(client, alice.email).headers["location"].startswith("/login/mfa")
    assert client.delete(f"/api/v1/users/{alice.id}/mfa", headers=alice.headers).status_code == 404
    removed = client.delete(f"/api/v1/users/{alice.id}/mfa", headers=admin.headers)
    assert removed.json() == {"removed": 1}
    client.cookies.clear()
    assert password_step(client, alice.email).headers["location"] == "/files"


def test_people_turn_their_authenticator_app_off(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    totp, _ = enrol_totp(client, runtime, alice)
    password_step(client, alice.email)
    use_up_step(runtime, alice)
    assert (
        client.post(
            "/login/mfa", data={"code": totp.now(), "next": "/files"}, follow_redirects=False
        ).status_code
        == 303
    )
    page = client.get("/settings/mfa")
    off = client.post("/settings/mfa/totp/remove", data={"csrf_token": form_token(page.text)})
    assert off.status_code == 200
    assert "Set up an authenticator app" in off.text
    client.cookies.clear()
    assert password_step(client, alice.email).headers["location"] == "/files"


def test_a_garbled_security_key_answer_is_refused_not_a_crash(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    """A browser (or anyone holding a password) sending a malformed WebAuthn answer gets a 4xx JSON
    refusal, never a 500: when adding a key, and at the second step of signing in."""
    sign_in(client, alice.email)
    page = client.get("/settings/mfa")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token, page.text
    headers = {"X-CSRF-Token": token.group(1)}
    assert client.post("/settings/mfa/keys/options", headers=headers).status_code == 200
    for garbled in (b"{", b"[]", b'{"id": "x", "rawId": "x", "type": "public-key", "response": {}}'):
        answer = client.post("/settings/mfa/keys?name=k", content=garbled, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "bad_input"
    client.cookies.clear()
    enrol_totp(client, runtime, alice)
    assert password_step(client, alice.email).status_code == 303
    assert client.post("/login/mfa/key/options").status_code == 200
    for garbled in (b"{", b'{"rawId": "x"}', b'{"rawId": "x", "response": 5}'):
        answer = client.post("/login/mfa/key?next=/files", content=garbled)
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "unauthenticated"


def test_adding_a_security_key_needs_the_session_csrf_header(client: TestClient, alice: UserFixture) -> None:
    """The page's script sends X-CSRF-Token; a form posted from another page of the same site (which
    SameSite cookies do not stop) cannot start or finish adding a key to the signed-in account."""
    sign_in(client, alice.email)
    assert client.post("/settings/mfa/keys/options").status_code == 403
    refused = client.post("/settings/mfa/keys?name=k", content=b"{}")
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
