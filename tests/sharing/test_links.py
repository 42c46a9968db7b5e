"""Shared links through the public pages: passwords throttled on every route, the two-step code page,
expiry by the server's clock, recipient domain allow-list, folder links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from strongroom.config import SharingSettings
from strongroom.db.session import transaction
from strongroom.errors import NotAllowed
from strongroom.runtime import Runtime
from strongroom.sharing import shared_links
from strongroom.sharing.schemas import SharedLinkCreate
from tests.support.clock import AdjustableClock
from tests.support.smtp import MailSink
from tests.support.users import UserFixture


def put_file(
    client: TestClient, owner: UserFixture, name: str = "statement.txt", data: bytes = b"witness statement"
) -> str:
    r = client.put(f"/api/v1/folders/{owner.root_id}/files/{name}", content=data, headers=owner.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def make_link(client: TestClient, owner: UserFixture, item_id: str, **options: object) -> tuple[str, str]:
    r = client.post(f"/api/v1/items/{item_id}/shared-links", json=options, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["url"].rsplit("/s/", 1)[1]


def test_password_failures_are_throttled_on_every_route_that_accepts_one(
    client: TestClient, alice: UserFixture
) -> None:
    file_id = put_file(client, alice)
    _, token = make_link(client, alice, file_id, password="a long passphrase")
    limit = SharingSettings().password_failures_per_link
    for i in range(limit):
        route = (
            (f"/s/{token}/api/password", {"json": {"password": f"wrong {i}"}})
            if i % 2
            else (f"/s/{token}/password", {"data": {"password": f"wrong {i}"}})
        )
        assert client.post(route[0], **route[1]).status_code == 401  # type: ignore[arg-type]
    # Paused now, even for the right password, by either route.
    assert client.post(f"/s/{token}/api/password", json={"password": "a long passphrase"}).status_code == 429
    html = client.post(f"/s/{token}/password", data={"password": "a long passphrase"})
    assert html.status_code == 429
    assert "Retry-After" in html.headers


def test_right_password_opens_the_link_and_the_token_never_reaches_the_audit_trail(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    file_id = put_file(client, alice)
    link_id, token = make_link(client, alice, file_id, password="a long passphrase")
    assert client.get(f"/s/{token}/api").json()["step"] == "password"
    assert client.get(f"/s/{token}/content/{file_id}").status_code == 401
    r = client.post(f"/s/{token}/password", data={"password": "a long passphrase"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/s/{token}/content/{file_id}").content == b"witness statement"
    with runtime.engine.connect() as connection:
        dump = "\n".join(str(row) for row in connection.exec_driver_sql("SELECT * FROM audit_event"))
    assert token not in dump
    assert link_id in dump


def test_code_page_is_two_steps_and_codes_expire_after_ten_minutes(
    client: TestClient, alice: UserFixture, smtp: MailSink, clock: AdjustableClock
) -> None:
    email = "lawyer@cps.gov.uk"
    file_id = put_file(client, alice)
    _, token = make_link(client, alice, file_id, recipients=[email])
    assert "Confirm your e-mail address" in client.get(f"/s/{token}").text
    r = client.post(f"/s/{token}/email", data={"email": email}, follow_redirects=False)
    assert r.status_code == 303
    code = smtp.code_for(email)
    for _ in range(3):  # a scanner opening the page many times burns nothing
        page = client.get(r.headers["location"])
        assert page.status_code == 200
        assert 'method="post"' in page.text
    clock.advance(timedelta(minutes=10, seconds=1))
    late = client.post(f"/s/{token}/code", data={"email": email, "code": code})
    assert late.status_code == 401
    client.post(f"/s/{token}/email", data={"email": email})
    fresh = smtp.code_for(email)
    opened = client.post(f"/s/{token}/code", data={"email": email, "code": fresh})
    assert opened.status_code == 200
    assert "statement.txt" in opened.text
    assert f"Opened as {email}" in opened.text


def test_links_expire_by_the_server_clock_and_revealing_nothing(
    client: TestClient, alice: UserFixture, clock: AdjustableClock
) -> None:
    file_id = put_file(client, alice, "secret plan.txt")
    expires = (clock.now() + timedelta(hours=2)).isoformat()
    _, token = make_link(client, alice, file_id, expires_at=expires)
    assert client.get(f"/s/{token}").status_code == 200
    clock.advance(timedelta(hours=2))
    gone = client.get(f"/s/{token}")
    assert gone.status_code == 410
    assert "secret plan" not in gone.text
    assert gone.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/s/not-a-token-at-all").status_code == 404
    past = client.post(
        f"/api/v1/items/{file_id}/shared-links", json={"expires_at": expires}, headers=alice.headers
    )
    assert past.status_code == 400


def test_recipients_outside_the_allowed_domains_are_refused(
    runtime: Runtime, alice: UserFixture, client: TestClient
) -> None:
    file_id = put_file(client, alice)
    allowed = SharingSettings(allowed_recipient_domains=["cps.gov.uk"])
    with transaction(runtime.sessions) as session, pytest.raises(NotAllowed):
        shared_links.create_shared_link(
            session,
            alice.actor,
            item_id=file_id,
            options=SharedLinkCreate(recipients=["x@gmail.test"]),
            settings=allowed,
            mail=runtime.settings.mail,
            clock=runtime.clock,
        )
    with transaction(runtime.sessions) as session:
        link, _ = shared_links.create_shared_link(
            session,
            alice.actor,
            item_id=file_id,
            options=SharedLinkCreate(recipients=["a@area.cps.gov.uk"]),
            settings=allowed,
            mail=runtime.settings.mail,
            clock=runtime.clock,
        )
        assert link.require_recipient_proof


def test_folder_link_lists_the_folder_and_reaches_only_what_is_below(
    client: TestClient, alice: UserFixture
) -> None:
    folder = client.post(
        "/api/v1/folders", json={"parent_id": "root", "name": "Disclosure"}, headers=alice.headers
    ).json()
    inside = client.put(
        f"/api/v1/folders/{folder['id']}/files/exhibit 1.txt", content=b"one", headers=alice.headers
    ).json()
    outside = put_file(client, alice, "not shared.txt")
    _, token = make_link(client, alice, folder["id"])
    page = client.get(f"/s/{token}")
    assert "exhibit 1.txt" in page.text
    assert "not shared.txt" not in page.text
    assert re.search(rf"/s/{token}/files/{inside['id']}", page.text)
    assert client.get(f"/s/{token}/files/{inside['id']}").status_code == 200
    assert client.get(f"/s/{token}/content/{inside['id']}").content == b"one"
    assert client.get(f"/s/{token}/content/{outside}").status_code == 404
    assert client.get(f"/s/{token}/api").json()["items"][0]["name"] == "exhibit 1.txt"


def test_upload_form_without_javascript_gives_a_receipt_and_holds_files_until_scanned(
    client: TestClient, alice: UserFixture, smtp: MailSink
) -> None:
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests",
        json={"title": "Shop CCTV", "allowed_types": [".mp4", ".txt"], "single_use": True},
        headers=alice.headers,
    )
    token = created.json()["url"].rsplit("/r/", 1)[1]
    form = {"name": "Pat Shopkeeper", "email": "pat@shop.test"}
    refused = client.post(
        f"/r/{token}", data=form, files=[("files", ("tool.exe", b"MZ", "application/octet-stream"))]
    )
    assert refused.status_code == 400
    assert "not a type this upload link accepts" in refused.text
    sent = client.post(
        f"/r/{token}",
        data=form,
        files=[
            ("files", ("till.mp4", b"\0\0\0\x18ftypisom", "video/mp4")),
            ("files", ("notes.txt", b"hi", "text/plain")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    receipt = client.get(sent.headers["location"])
    assert "SR-" in receipt.text
    assert "till.mp4" in receipt.text
    assert "pat@shop.test" in str(smtp.wait_for("pat@shop.test")[0]["To"])
    # Single use: the link is spent.
    assert client.post(f"/r/{token}/api/submissions", json={"form": form}).status_code == 410
    # No scanner configured: the files wait, and the API says why.
    folder = client.get(f"/api/v1/folders/{alice.root_id}/items", headers=alice.headers).json()["items"][0]
    files = client.get(f"/api/v1/folders/{folder['id']}/items", headers=alice.headers).json()["items"]
    video = next(f for f in files if f["name"] == "till.mp4")
    assert client.get(f"/api/v1/files/{video['id']}/content", headers=alice.headers).status_code == 404
    state = client.post(f"/api/v1/files/{video['id']}/preview", headers=alice.headers).json()
    assert state["state"] == "waiting_for_scan"
    assert state["scan"]["status"] == "pending"
    assert "scan.clamd" in state["scan"]["detail"]
