"""Accounts through the web pages: personal access tokens made and revoked (shown once), your own
password changed (old one required, common ones refused), an administrator disabling an account (its
browsers and tokens stop at the next request) and resetting a password (shown once). All audited."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from strongroom.audit.events import AuditAction
from strongroom.runtime import Runtime
from tests.support.users import PASSWORD, UserFixture
from tests.web.test_pages import events_of, login_csrf, sign_in


def form_token(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, page_html
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_made_on_the_page_is_shown_once_works_and_stops_when_revoked(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    sign_in(client, alice.email)
    page = client.get("/settings")
    made = client.post(
        "/settings/tokens",
        data={"name": "Laptop drive", "lifetime": "30", "csrf_token": form_token(page.text)},
    )
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    shown = re.search(r'id="new-token-value" readonly value="(srpat_[^"]+)"', made.text)
    assert shown, made.text
    token = shown.group(1)
    assert token not in client.get("/settings").text, "the token is shown once"
    with TestClient(client.app) as script:
        assert script.get("/api/v1/me", headers=bearer(token)).status_code == 200
        [issued] = [e for e in events_of(runtime, AuditAction.TOKEN_ISSUED) if "Laptop drive" in e.details]
        assert issued.item_id == alice.id
        revoke_path = re.search(
            r'<td>Laptop drive</td>.*?action="(/settings/tokens/[^"]+/revoke)"',
            client.get("/settings").text,
            re.DOTALL,
        )
        assert revoke_path
        revoked = client.post(
            revoke_path.group(1), data={"csrf_token": form_token(made.text)}, follow_redirects=True
        )
        assert "The token is revoked" in revoked.text
        assert "Revoked" in revoked.text
        assert client.get("/api/v1/me", headers=alice.headers).status_code == 200, (
            "her other token still works"
        )
        assert script.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert len(events_of(runtime, AuditAction.TOKEN_REVOKED)) == 1


def test_token_form_without_a_name_or_csrf_token_is_refused(client: TestClient, alice: UserFixture) -> None:
    sign_in(client, alice.email)
    page = client.get("/settings")
    nameless = client.post("/settings/tokens", data={"name": " ", "csrf_token": form_token(page.text)})
    assert nameless.status_code == 400
    assert 'href="#token-name"' in nameless.text
    assert client.post("/settings/tokens", data={"name": "x"}).status_code in {400, 403}


def test_changing_your_password_needs_the_old_one_and_refuses_common_ones(
    app: FastAPI, client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    with TestClient(app) as other_browser:
        sign_in(other_browser, alice.email)
        sign_in(client, alice.email)
        token = form_token(client.get("/settings").text)
        new = "violet kettle harbour lantern"
        wrong_old = client.post(
            "/settings/password",
            data={
                "old_password": "not it at all",
                "password": new,
                "password_again": new,
                "csrf_token": token,
            },
        )
        assert wrong_old.status_code == 400
        assert "current password is not right" in wrong_old.text
        common = client.post(
            "/settings/password",
            data={
                "old_password": PASSWORD,
                "password": "Password1234",
                "password_again": "Password1234",
                "csrf_token": token,
            },
        )
        assert common.status_code == 400
        assert "too easy to guess" in common.text
        short = client.post(
            "/settings/password",
            data={
                "old_password": PASSWORD,
                "password": "short",
                "password_again": "short",
                "csrf_token": token,
            },
        )
        assert short.status_code == 400
        assert "at least 12 characters" in short.text
        assert events_of(runtime, AuditAction.USER_PASSWORD_CHANGED) == []

        changed = client.post(
            "/settings/password",
            data={"old_password": PASSWORD, "password": new, "password_again": new, "csrf_token": token},
            follow_redirects=True,
        )
        assert changed.status_code == 200
        assert "Your password is changed" in changed.text
        assert client.get("/settings", follow_redirects=False).status_code == 200, (
            "this browser stays signed in"
        )
        assert other_browser.get("/settings", follow_redirects=False).status_code == 303, (
            "others are signed out"
        )
    [event] = events_of(runtime, AuditAction.USER_PASSWORD_CHANGED)
    assert event.actor_id == alice.id
    assert PASSWORD not in event.details
    assert new not in event.details
    with TestClient(app) as fresh:
        refused = fresh.post(
            "/login", data={"email": alice.email, "password": PASSWORD, "csrf_token": login_csrf(fresh)}
        )
        assert refused.status_code == 401, (refused.history, refused.text[:3000])
        sign_in(fresh, alice.email, new)


def test_a_disabled_account_stops_at_its_next_request_on_every_door(
    app: FastAPI, client: TestClient, runtime: Runtime, admin: UserFixture, alice: UserFixture
) -> None:
    with TestClient(app) as alices_browser:
        sign_in(alices_browser, alice.email)
        assert alices_browser.get("/settings", follow_redirects=False).status_code == 200
        assert client.get("/api/v1/me", headers=alice.headers).status_code == 200
        assert client.get("/dav/", auth=(alice.email, alice.token)).status_code in {200, 207, 301}

        sign_in(client, admin.email)
        users_page = client.get("/admin/users")
        assert f'action="/admin/users/{alice.id}/disable"' in users_page.text
        assert f'action="/admin/users/{admin.id}/disable"' not in users_page.text, "not yourself"
        disabled = client.post(
            f"/admin/users/{alice.id}/disable", data={"csrf_token": form_token(users_page.text)}
        )
        assert disabled.status_code == 200
        assert f"{alice.email} is disabled" in disabled.text

        assert alices_browser.get("/settings", follow_redirects=False).status_code == 303
        assert client.get("/api/v1/me", headers=alice.headers).status_code == 401
        assert client.get("/dav/", auth=(alice.email, alice.token)).status_code == 401
        with TestClient(app) as fresh:
            refused = fresh.post(
                "/login", data={"email": alice.email, "password": PASSWORD, "csrf_token": login_csrf(fresh)}
            )
            assert refused.status_code == 401

        enabled = client.post(
            f"/admin/users/{alice.id}/enable", data={"csrf_token": form_token(disabled.text)}
        )
        assert f"{alice.email} is enabled again" in enabled.text
        assert client.get("/api/v1/me", headers=alice.headers).status_code == 200
    assert [e.item_id for e in events_of(runtime, AuditAction.USER_DISABLED)] == [alice.id]
    assert [e.actor_id for e in events_of(runtime, AuditAction.USER_ENABLED)] == [admin.id]


def test_staff_cannot_disable_or_reset_anyone(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    sign_in(client, alice.email)
    token = form_token(client.get("/settings").text)
    assert client.post(f"/admin/users/{bob.id}/disable", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/admin/users/{bob.id}/reset-password", data={"csrf_token": token}).status_code == 404


def test_an_admin_reset_shows_a_new_password_once_and_ends_the_old_one(
    app: FastAPI, client: TestClient, runtime: Runtime, admin: UserFixture, alice: UserFixture
) -> None:
    sign_in(client, admin.email)
    page = client.get("/admin/users")
    reset = client.post(f"/admin/users/{alice.id}/reset-password", data={"csrf_token": form_token(page.text)})
    assert reset.status_code == 200
    assert reset.headers["Cache-Control"] == "no-store"
    shown = re.search(r'id="reset-password-value" readonly value="([^"]+)"', reset.text)
    assert shown
    temporary = shown.group(1)
    assert len(temporary) >= 12
    assert temporary not in client.get("/admin/users").text
    [event] = events_of(runtime, AuditAction.USER_PASSWORD_RESET)
    assert event.item_id == alice.id
    assert temporary not in event.details
    with TestClient(app) as alices_browser:
        refused = alices_browser.post(
            "/login",
            data={"email": alice.email, "password": PASSWORD, "csrf_token": login_csrf(alices_browser)},
        )
        assert refused.status_code == 401
        sign_in(alices_browser, alice.email, temporary)
