"""A password an administrator reset (on the page, through REST or with the CLI) is one the admin
knew: at the next sign-in the user must choose their own before any other page opens. REST and the CLI
disable and enable accounts too, as the admin page does."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from strongroom.actors import Actor
from strongroom.audit.events import AuditAction
from strongroom.config import Settings
from strongroom.db.session import transaction
from strongroom.identity import roles
from strongroom.runtime import Runtime
from tests.cli.test_server_cli import run_cli
from tests.support.users import PASSWORD, UserFixture
from tests.web.test_accounts import form_token
from tests.web.test_pages import events_of, sign_in

NEW_PASSWORD = "kestrel lantern orchard"


def test_after_a_reset_the_user_must_choose_a_new_password_first(
    app: FastAPI, client: TestClient, runtime: Runtime, admin: UserFixture, alice: UserFixture
) -> None:
    reset = client.post(f"/api/v1/users/{alice.id}/reset-password", headers=admin.headers)
    assert reset.status_code == 200, reset.text
    assert reset.headers["Cache-Control"] == "no-store"
    temporary = reset.json()["password"]
    assert reset.json()["account"]["must_change_password"] is True
    assert len(events_of(runtime, AuditAction.USER_PASSWORD_RESET)) == 1

    with TestClient(app) as browser:
        sign_in(browser, alice.email, temporary)
        for path in ("/files", f"/files/{alice.root_id}", "/my/shared-links", "/shared-with-me", "/trash"):
            answer = browser.get(path, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/settings#password"
        page = browser.get("/settings")
        assert page.status_code == 200
        assert "An administrator reset your password" in page.text
        assert "the one your administrator gave you" in page.text
        weak = browser.post(
            "/settings/password",
            data={
                "old_password": temporary,
                "password": "password1234",
                "password_again": "password1234",
                "csrf_token": form_token(page.text),
            },
        )
        assert weak.status_code == 400
        assert browser.get("/files", follow_redirects=False).status_code == 303, "still not changed"
        changed = browser.post(
            "/settings/password",
            data={
                "old_password": temporary,
                "password": NEW_PASSWORD,
                "password_again": NEW_PASSWORD,
                "csrf_token": form_token(page.text),
            },
            follow_redirects=True,
        )
        assert "Your password is changed" in changed.text
        assert "An administrator reset your password" not in changed.text
        assert browser.get("/files", follow_redirects=False).status_code == 303  # to the root folder
        assert browser.get(f"/files/{alice.root_id}").status_code == 200
    with TestClient(app) as later:
        sign_in(later, alice.email, NEW_PASSWORD)
        assert later.get(f"/files/{alice.root_id}", follow_redirects=False).status_code == 200


def test_rest_disables_and_enables_accounts_for_admins_only(
    client: TestClient, runtime: Runtime, admin: UserFixture, alice: UserFixture, bob: UserFixture
) -> None:
    for path in ("disable", "enable", "reset-password"):
        assert client.post(f"/api/v1/users/{bob.id}/{path}", headers=alice.headers).status_code == 404
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 200
    disabled = client.post(f"/api/v1/users/{bob.id}/disable", headers=admin.headers)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 401
    yourself = client.post(f"/api/v1/users/{admin.id}/disable", headers=admin.headers)
    assert yourself.status_code == 409  # the only administrator (tests/identity/test_break_glass.py)
    assert yourself.json()["code"] == "last_admin"
    enabled = client.post(f"/api/v1/users/{bob.id}/enable", headers=admin.headers)
    assert enabled.json()["disabled_at"] is None
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 200
    with transaction(runtime.sessions) as session:  # with another administrator: not yourself either
        roles.set_role(
            session, Actor.system(label="tests"), user_id=bob.id, role="admin", clock=runtime.clock
        )
    yourself = client.post(f"/api/v1/users/{admin.id}/disable", headers=admin.headers)
    assert yourself.status_code == 403
    assert yourself.json()["code"] == "not_allowed"
    assert client.post("/api/v1/users/u_nobody/disable", headers=admin.headers).status_code == 404
    assert len(events_of(runtime, AuditAction.USER_DISABLED)) == 1
    assert len(events_of(runtime, AuditAction.USER_ENABLED)) == 1


def test_the_cli_disables_enables_and_resets(settings: Settings, tmp_path: object) -> None:
    run_cli(settings, "users", "create", "officer@force.police.test", "--password", PASSWORD)
    assert (
        "disabled officer@force.police.test"
        in run_cli(settings, "users", "disable", "officer@force.police.test").stderr
    )
    assert "enabled" in run_cli(settings, "users", "enable", "officer@force.police.test").stderr
    reset = run_cli(settings, "users", "reset-password", "officer@force.police.test")
    assert len(reset.stdout.strip()) >= 12
    assert "must choose a new password" in reset.stderr
    unknown = run_cli(settings, "users", "disable", "nobody@force.police.test", check=False)
    assert unknown.returncode == 1
    assert "no account with the e-mail" in unknown.stderr
    assert "Traceback" not in unknown.stderr
