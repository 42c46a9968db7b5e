"""Break-glass administrators survive the directory: SCIM changes only the accounts it provisioned (or
is linked to), and nobody, on any door, disables the last active organisation administrator."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from strongroom.actors import Actor
from strongroom.config import Settings
from strongroom.db.session import transaction
from strongroom.errors import LastAdmin
from strongroom.identity import roles
from strongroom.identity.models import User
from strongroom.runtime import Runtime
from tests.cli.test_server_cli import run_cli
from tests.identity.test_admin_pages import form_token
from tests.identity.test_scim_provisioning import PATCH_SCHEMA, USER_SCHEMA
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
OFF = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}


def provision(client: TestClient, headers: dict[str, str], name: str) -> str:
    body = {"schemas": [USER_SCHEMA], "userName": name, "externalId": f"ext-{name}", "active": True}
    made = client.post("/scim/v2/Users", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def active(runtime: Runtime, user_id: str) -> bool:
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.disabled_at is None and user.source != "removed"


def assert_scim_refusal(answer: object, status: int, code: str) -> None:
    body = answer.json()  # type: ignore[attr-defined]
    assert answer.status_code == status, body  # type: ignore[attr-defined]
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert "scimType" not in body or body["scimType"] is None
    assert body["detail"].startswith(f"{code}: ")  # SCIM's Error has no field for it; strict clients
    assert "code" not in body  # refuse extra members


def test_the_directory_cannot_change_a_local_administrator(
    client: TestClient, runtime: Runtime, scim_headers: dict[str, str], admin: UserFixture, alice: UserFixture
) -> None:
    url = f"/scim/v2/Users/{admin.id}"
    assert client.get(url, headers=scim_headers).status_code == 200  # it may see the account
    put = {"schemas": [USER_SCHEMA], "userName": admin.email, "active": False}
    assert_scim_refusal(client.put(url, json=put, headers=scim_headers), 403, "not_managed_by_directory")
    assert_scim_refusal(client.patch(url, json=OFF, headers=scim_headers), 403, "not_managed_by_directory")
    assert_scim_refusal(client.delete(url, headers=scim_headers), 403, "not_managed_by_directory")
    # Nor an ordinary local account.
    other = f"/scim/v2/Users/{alice.id}"
    assert_scim_refusal(client.patch(other, json=OFF, headers=scim_headers), 403, "not_managed_by_directory")
    assert active(runtime, admin.id)
    assert active(runtime, alice.id)
    assert client.get("/api/v1/me", headers=admin.headers).status_code == 200
    # What it provisioned, it may still deactivate and delete.
    leaver = provision(client, scim_headers, "leaver@force.police.test")
    assert client.patch(f"/scim/v2/Users/{leaver}", json=OFF, headers=scim_headers).status_code in (200, 204)
    assert not active(runtime, leaver)
    assert client.delete(f"/scim/v2/Users/{leaver}", headers=scim_headers).status_code == 204


def test_the_directory_cannot_disable_the_last_administrator(
    client: TestClient, runtime: Runtime, scim_headers: dict[str, str]
) -> None:
    chief = provision(client, scim_headers, "chief@force.police.test")
    with transaction(runtime.sessions) as session:
        roles.set_role(session, Actor.system(label="tests"), user_id=chief, role="admin", clock=runtime.clock)
    url = f"/scim/v2/Users/{chief}"
    assert_scim_refusal(client.patch(url, json=OFF, headers=scim_headers), 409, "last_admin")
    assert_scim_refusal(client.delete(url, headers=scim_headers), 409, "last_admin")
    assert active(runtime, chief)
    assert client.get(url, headers=scim_headers).json()["active"] is True


def test_the_api_never_disables_or_demotes_the_last_administrator(
    client: TestClient, runtime: Runtime, admin: UserFixture, bob: UserFixture
) -> None:
    answer = client.post(f"/api/v1/users/{admin.id}/disable", headers=admin.headers)
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "last_admin"
    assert active(runtime, admin.id)
    # With a second administrator, one may disable the other.
    assert (
        client.put(f"/api/v1/users/{bob.id}/role", json={"role": "admin"}, headers=admin.headers).status_code
        == 200
    )
    assert client.post(f"/api/v1/users/{bob.id}/disable", headers=admin.headers).status_code == 200
    # ... but not the one left, nor make them anything less (through the CLI's system actor either).
    assert (
        client.post(f"/api/v1/users/{admin.id}/disable", headers=admin.headers).json()["code"] == "last_admin"
    )
    with pytest.raises(LastAdmin), transaction(runtime.sessions) as session:
        roles.set_role(session, Actor.system(label="cli"), user_id=admin.id, role="user", clock=runtime.clock)


def test_the_admin_page_never_disables_the_last_administrator(
    app: FastAPI, runtime: Runtime, admin: UserFixture
) -> None:
    with TestClient(app) as browser:
        sign_in(browser, admin.email)
        page = browser.get("/admin/users")
        answer = browser.post(f"/admin/users/{admin.id}/disable", data={"csrf_token": form_token(page.text)})
        assert answer.status_code == 409
        assert "last active organisation administrator" in answer.text
    assert active(runtime, admin.id)


def test_the_cli_never_disables_the_last_administrator(
    settings: Settings, runtime: Runtime, admin: UserFixture
) -> None:
    done = run_cli(settings, "users", "disable", admin.email, check=False)
    assert done.returncode == 1
    assert "last active organisation administrator" in done.stderr
    assert active(runtime, admin.id)
