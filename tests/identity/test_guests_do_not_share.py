"""External guests see and work on what is shared with them, but never share it on: no shared links,
no upload requests, no invitations, on any door (the rule is in `can()`), and no such buttons."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from strongroom.actors import Actor
from strongroom.cli import app as cli_app
from strongroom.db.session import transaction
from strongroom.identity import roles
from strongroom.runtime import Runtime
from strongroom.sharing.models import Grant, SharedLink, UploadRequest
from tests.support.live import LiveServer
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in


def shared_with_guest(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> tuple[str, str]:
    """Alice's folder with a file, Bob an editor on it, then Bob made an external guest."""
    folder = client.post(
        "/api/v1/folders", json={"name": "Case 42", "parent_id": "root"}, headers=alice.headers
    )
    assert folder.status_code == 201, folder.text
    folder_id = folder.json()["id"]
    file_id = client.put(
        f"/api/v1/folders/{folder_id}/files/statement.txt", content=b"words", headers=alice.headers
    ).json()["id"]
    granted = client.post(
        f"/api/v1/items/{folder_id}/collaborations",
        json={"role": "editor", "user_email": bob.email},
        headers=alice.headers,
    )
    assert granted.status_code == 201, granted.text
    with transaction(runtime.sessions) as session:
        roles.set_role(
            session, Actor.system(label="tests"), user_id=bob.id, role="guest", clock=runtime.clock
        )
    return folder_id, file_id


def counts(runtime: Runtime) -> tuple[int, int, int]:
    with transaction(runtime.sessions) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (SharedLink, UploadRequest, Grant)
        )


def assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "guest_may_not_share"


def test_a_guest_works_on_what_is_shared_but_the_api_refuses_sharing_it_on(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    folder_id, file_id = shared_with_guest(client, runtime, alice, bob)
    assert client.get(f"/api/v1/files/{file_id}/content", headers=bob.headers).status_code == 200
    added = client.put(f"/api/v1/folders/{folder_id}/files/note.txt", content=b"mine", headers=bob.headers)
    assert added.status_code == 201, added.text  # an editor still adds files
    before = counts(runtime)
    assert_refused(client.post(f"/api/v1/items/{file_id}/shared-links", json={}, headers=bob.headers))
    assert_refused(
        client.post(
            f"/api/v1/folders/{folder_id}/upload-requests", json={"title": "More"}, headers=bob.headers
        )
    )
    assert_refused(
        client.post(
            f"/api/v1/items/{folder_id}/collaborations",
            json={"role": "viewer", "user_email": alice.email},
            headers=bob.headers,
        )
    )
    assert counts(runtime) == before
    # The refusal is the same for an id that does not exist: it says nothing about items.
    assert_refused(client.post("/api/v1/items/fi_doesnotexist/shared-links", json={}, headers=bob.headers))
    # Staff may share as before.
    assert (
        client.post(f"/api/v1/items/{file_id}/shared-links", json={}, headers=alice.headers).status_code
        == 201
    )


def test_the_pages_offer_a_guest_no_sharing_and_refuse_the_invitation_form(
    app: FastAPI, client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    folder_id, file_id = shared_with_guest(client, runtime, alice, bob)
    with TestClient(app) as guest, TestClient(app) as staff:
        sign_in(guest, bob.email)
        sign_in(staff, alice.email)
        for page in (f"/files/{folder_id}", f"/items/{file_id}"):
            theirs, ours = guest.get(page), staff.get(page)
            assert theirs.status_code == 200
            assert ours.status_code == 200
            assert 'data-action="share"' not in theirs.text
            assert 'data-action="share"' in ours.text
        assert 'data-action="upload-request"' not in guest.get(f"/files/{folder_id}").text
        assert 'data-action="upload-request"' in staff.get(f"/files/{folder_id}").text
        page = guest.get(f"/files/{folder_id}")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert token
        before = counts(runtime)
        answer = guest.post(
            f"/items/{folder_id}/people",
            data={"email": alice.email, "role": "viewer", "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        assert "people_error=guest_may_not_share" in answer.headers["location"]
        assert "External guests cannot invite anyone" in guest.get(answer.headers["location"]).text
        assert counts(runtime) == before


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("STRONGROOM_CLIENT_DIR", str(tmp_path / "client-config"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_the_cli_refuses_a_guest_links_and_upload_requests(
    cli: CliRunner, live_server: LiveServer, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        folder_id, file_id = shared_with_guest(http, runtime, alice, bob)  # type: ignore[arg-type]
    assert cli.invoke(cli_app, ["login", live_server.url, "--token", bob.token]).exit_code == 0
    before = counts(runtime)
    shared = cli.invoke(cli_app, ["share", file_id])
    assert shared.exit_code != 0
    assert "guests" in shared.output
    asked = cli.invoke(cli_app, ["request", folder_id, "--title", "More"])
    assert asked.exit_code != 0
    assert "guests" in asked.output
    assert counts(runtime) == before
