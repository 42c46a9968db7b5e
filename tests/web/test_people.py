"""People with access, through the pages: the owner sees who has access with which role (also from a
folder above), gives a colleague access (who is e-mailed a link and finds it under "Shared with me"),
changes the role and removes it after a confirmation; admins make groups and change their members."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from strongroom.audit.events import AuditAction
from strongroom.config import Settings
from strongroom.runtime import Runtime
from tests.support.smtp import MailSink, smtp
from tests.support.users import UserFixture
from tests.web.test_my_sharing import csrf_of, row_of
from tests.web.test_pages import events_of, sign_in

__all__ = ["smtp"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: MailSink) -> Settings:
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},  # type: ignore[arg-type]
        mail={"host": smtp.host, "port": smtp.port, "sender": "strongroom@force.police.test"},  # type: ignore[arg-type]
    )


@pytest.fixture
def other_browser(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as second:
        yield second


def make_folder(client: TestClient, owner: UserFixture, name: str) -> str:
    made = client.post(
        "/api/v1/folders", json={"name": name, "parent_id": owner.root_id}, headers=owner.headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_giving_changing_and_removing_access_on_the_page(
    client: TestClient,
    other_browser: TestClient,
    runtime: Runtime,
    alice: UserFixture,
    bob: UserFixture,
    smtp: MailSink,
) -> None:
    folder_id = make_folder(client, alice, "Op KESTREL")
    made = client.put(f"/api/v1/folders/{folder_id}/files/cctv.txt", content=b"cctv", headers=alice.headers)
    file_id = made.json()["id"]
    sign_in(client, alice.email)
    page = client.get(f"/files/{folder_id}")
    assert 'id="people"' in page.text
    assert "Owner" in page.text
    assert alice.email in page.text

    nobody = client.post(
        f"/items/{folder_id}/people",
        data={"email": "nobody@force.police.test", "role": "viewer", "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "There is nobody with that e-mail address here" in nobody.text
    added = client.post(
        f"/items/{folder_id}/people",
        data={"email": bob.email.upper(), "role": "viewer", "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "They have access now" in added.text
    [event] = events_of(runtime, AuditAction.GRANT_CREATED)
    grant_id = re.search(r'id="grant-(gr_[^"]+)"', added.text)
    assert grant_id, added.text
    row = row_of(added.text, f"grant-{grant_id.group(1)}")
    assert bob.email in row
    assert "Viewer" in row

    [invitation] = smtp.wait_for(bob.email)
    body = smtp.body(invitation)
    assert "Op KESTREL" in str(invitation["Subject"])
    assert f"{runtime.settings.public_url}/files/{folder_id}" in body
    assert "viewer" in body

    # Bob finds it under "Shared with me", and on the file below sees where his access comes from.
    sign_in(other_browser, bob.email)
    mine = other_browser.get("/shared-with-me")
    assert 'aria-current="page">Shared with me' in mine.text
    shared = row_of(mine.text, f"shared-{folder_id}")
    assert "Op KESTREL" in shared
    assert alice.email in shared
    assert "Viewer" in shared
    item = other_browser.get(f"/items/{file_id}")
    assert "From the folder" in item.text
    assert 'action="/items/' not in item.text, "a viewer cannot give access"
    assert "/remove" not in item.text

    changed = client.post(
        f"/people/{grant_id.group(1)}/change",
        data={"role": "editor", "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "The role is changed" in changed.text
    assert "Editor" in row_of(changed.text, f"grant-{grant_id.group(1)}")
    assert len(events_of(runtime, AuditAction.GRANT_CHANGED)) == 1

    confirm = client.get(f"/people/{grant_id.group(1)}/remove")
    assert "lose their editor access" in confirm.text
    assert other_browser.get(f"/items/{file_id}").status_code == 200, "asking is not removing"
    removed = client.post(
        f"/people/{grant_id.group(1)}/remove",
        data={"csrf_token": csrf_of(confirm.text)},
        follow_redirects=True,
    )
    assert "Their access through this grant has ended" in removed.text
    assert f"grant-{grant_id.group(1)}" not in removed.text
    assert other_browser.get(f"/items/{file_id}").status_code == 404
    assert f"shared-{folder_id}" not in other_browser.get("/shared-with-me").text
    assert len(events_of(runtime, AuditAction.GRANT_REMOVED)) == 1
    # Bob cannot touch grants on what he cannot share.
    assert other_browser.get(f"/people/{grant_id.group(1)}/remove").status_code == 404
    assert json.loads(event.details)["role"] == "viewer"


def test_a_grant_through_rest_mails_the_colleague_too(
    client: TestClient, alice: UserFixture, bob: UserFixture, smtp: MailSink
) -> None:
    folder_id = make_folder(client, alice, "Statements")
    made = client.post(
        f"/api/v1/items/{folder_id}/collaborations",
        json={"user_email": bob.email, "role": "previewer"},
        headers=alice.headers,
    )
    assert made.status_code == 201, made.text
    [mail] = smtp.wait_for(bob.email)
    assert f"/files/{folder_id}" in smtp.body(mail)


def test_admins_make_groups_and_change_members(
    client: TestClient, runtime: Runtime, admin: UserFixture, alice: UserFixture, bob: UserFixture
) -> None:
    sign_in(client, admin.email)
    page = client.get("/admin/groups")
    assert "Make a group" in page.text
    made = client.post(
        "/admin/groups", data={"name": "CPS Wessex", "csrf_token": csrf_of(page.text)}, follow_redirects=True
    )
    assert "The group is made" in made.text
    group_id = re.search(r'id="group-(grp_[^"]+)"', made.text)
    assert group_id
    gid = group_id.group(1)
    again = client.post("/admin/groups", data={"name": "cps wessex", "csrf_token": csrf_of(page.text)})
    assert again.status_code == 409
    assert "already exists" in again.text
    added = client.post(
        f"/admin/groups/{gid}/members",
        data={"email": bob.email, "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert bob.email in row_of(added.text, f"group-{gid}")
    unknown = client.post(
        f"/admin/groups/{gid}/members", data={"email": "x@y.test", "csrf_token": csrf_of(page.text)}
    )
    assert unknown.status_code == 404
    assert "nobody with that e-mail" in unknown.text

    # The group can be given access on an item page, and Bob sees what it was given.
    folder_id = make_folder(client, alice, "Case file")
    client.cookies.clear()
    sign_in(client, alice.email)
    folder_page = client.get(f"/files/{folder_id}")
    assert "CPS Wessex" in folder_page.text
    granted = client.post(
        f"/items/{folder_id}/people",
        data={"group_id": gid, "role": "viewer", "csrf_token": csrf_of(folder_page.text)},
        follow_redirects=True,
    )
    assert "Group" in granted.text
    with TestClient(client.app) as bobs:  # type: ignore[arg-type]
        sign_in(bobs, bob.email)
        assert "Case file" in bobs.get("/shared-with-me").text

    client.cookies.clear()
    sign_in(client, admin.email)
    page = client.get("/admin/groups")
    removed = client.post(
        f"/admin/groups/{gid}/members/{bob.id}/remove",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "The member is removed" in removed.text
    assert bob.email not in row_of(removed.text, f"group-{gid}")
    assert len(events_of(runtime, AuditAction.GROUP_MEMBER_REMOVED)) == 1
    client.cookies.clear()
    sign_in(client, alice.email)
    assert client.get("/admin/groups").status_code == 404
