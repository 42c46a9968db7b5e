"""My shared links and my upload requests, through the pages: everything I handed out is listed with
its state (revoked and expired ones too); expiry and limits change; revoking and closing ask first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from strongroom.audit.events import AuditAction
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.sharing.models import SharedLink
from tests.sharing.test_links import make_link, put_file
from tests.support.users import UserFixture
from tests.web.test_pages import events_of, sign_in


def row_of(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}"[^>]*>.*?</tr>', html, re.DOTALL)
    assert match, html
    return match.group(0)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_my_links_lists_every_state_and_changes_expiry_and_limit(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    file_id = put_file(client, alice, "interview.txt")
    live_id, token = make_link(client, alice, file_id, name="For the CPS", download_limit=3)
    expired_id, _ = make_link(client, alice, file_id, name="Old one", expires_in_days=1)
    revoked_id, _ = make_link(client, alice, file_id, name="Mistake")
    assert client.post(f"/api/v1/shared-links/{revoked_id}/revoke", headers=alice.headers).status_code == 200
    bobs_file = put_file(client, bob, "bobs.txt")
    bobs_link, _ = make_link(client, bob, bobs_file)
    with transaction(runtime.sessions) as session:  # a week passes for the second link
        session.execute(
            update(SharedLink)
            .where(SharedLink.id == expired_id)
            .values(expires_at=datetime.now(UTC) - timedelta(hours=1))
        )

    sign_in(client, alice.email)
    page = client.get("/my/shared-links")
    assert page.status_code == 200
    assert 'aria-current="page">My shared links' in page.text
    assert 'data-state="live"' in row_of(page.text, f"link-{live_id}")
    assert "Active" in row_of(page.text, f"link-{live_id}")
    assert "0 of 3" in row_of(page.text, f"link-{live_id}")
    assert "Expired" in row_of(page.text, f"link-{expired_id}")
    revoked_row = row_of(page.text, f"link-{revoked_id}")
    assert "Revoked" in revoked_row
    assert "/revoke" not in revoked_row, "a revoked link offers nothing more"
    assert f"link-{bobs_link}" not in page.text, "only my own links"

    later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    changed = client.post(
        f"/my/shared-links/{live_id}/change",
        data={"expires_on": later, "download_limit": "5", "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "Your changes are saved" in changed.text
    row = row_of(changed.text, f"link-{live_id}")
    assert "0 of 5" in row
    assert f'value="{later}"' in row
    link = client.get(f"/api/v1/shared-links/{live_id}", headers=alice.headers).json()
    assert link["download_limit"] == 5
    assert link["expires_at"].startswith(later)

    # The expired link can be given a later end: it works again, and says so.
    revived = client.post(
        f"/my/shared-links/{expired_id}/change",
        data={"expires_on": later, "download_limit": "", "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "Active" in row_of(revived.text, f"link-{expired_id}")

    past = client.post(
        f"/my/shared-links/{live_id}/change",
        data={"expires_on": "2020-01-01", "download_limit": "5", "csrf_token": csrf_of(page.text)},
    )
    assert past.status_code == 400
    assert "in the past" in past.text
    assert f'href="#change-{live_id}"' in past.text
    bad_limit = client.post(
        f"/my/shared-links/{live_id}/change",
        data={"expires_on": "", "download_limit": "lots", "csrf_token": csrf_of(page.text)},
    )
    assert bad_limit.status_code == 400
    assert "whole number" in bad_limit.text
    assert client.get(f"/s/{token}").status_code == 200
    not_mine = client.post(
        f"/my/shared-links/{bobs_link}/change",
        data={"expires_on": later, "download_limit": "", "csrf_token": csrf_of(page.text)},
    )
    assert not_mine.status_code == 404
    assert len(events_of(runtime, AuditAction.LINK_CHANGED)) == 2
    # The same change through REST (a new end date used to fail writing its audit event).
    patched = client.patch(
        f"/api/v1/shared-links/{live_id}", json={"expires_at": f"{later}T17:00:00Z"}, headers=alice.headers
    )
    assert patched.status_code == 200, patched.text
    assert len(events_of(runtime, AuditAction.LINK_CHANGED)) == 3


def test_revoking_a_link_asks_first_then_stops_it(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    file_id = put_file(client, alice)
    link_id, token = make_link(client, alice, file_id)
    sign_in(client, alice.email)
    listing = client.get("/my/shared-links")
    assert f'href="/my/shared-links/{link_id}/revoke"' in listing.text
    confirm = client.get(f"/my/shared-links/{link_id}/revoke")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.text
    assert client.get(f"/s/{token}").status_code == 200, "asking is not revoking"
    assert events_of(runtime, AuditAction.LINK_REVOKED) == []
    assert client.post(f"/my/shared-links/{link_id}/revoke", data={}).status_code in {400, 403}
    done = client.post(
        f"/my/shared-links/{link_id}/revoke",
        data={"csrf_token": csrf_of(confirm.text)},
        follow_redirects=True,
    )
    assert "The link is revoked" in done.text
    assert "Revoked" in row_of(done.text, f"link-{link_id}")
    assert client.get(f"/s/{token}").status_code == 410
    assert len(events_of(runtime, AuditAction.LINK_REVOKED)) == 1


def test_my_upload_requests_extend_and_close_with_confirmation(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    made = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests",
        json={"title": "Dashcam footage", "expires_in_days": 7},
        headers=alice.headers,
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    token = made.json()["url"].rsplit("/r/", 1)[1]
    sign_in(client, alice.email)
    page = client.get("/my/upload-requests")
    assert page.status_code == 200
    row = row_of(page.text, f"request-{request_id}")
    assert "Dashcam footage" in row
    assert "Open" in row

    later = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    changed = client.post(
        f"/my/upload-requests/{request_id}/change",
        data={"expires_on": later, "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "Your changes are saved" in changed.text
    assert f'value="{later}"' in row_of(changed.text, f"request-{request_id}")
    [event] = events_of(runtime, AuditAction.UPLOAD_REQUEST_CHANGED)
    assert later in event.details

    confirm = client.get(f"/my/upload-requests/{request_id}/close")
    assert "files already received stay" in confirm.text
    assert client.get(f"/r/{token}").status_code == 200
    closed = client.post(
        f"/my/upload-requests/{request_id}/close",
        data={"csrf_token": csrf_of(confirm.text)},
        follow_redirects=True,
    )
    assert "The upload request is closed" in closed.text
    assert "Closed" in row_of(closed.text, f"request-{request_id}")
    assert client.get(f"/r/{token}").status_code == 410
    again = client.post(
        f"/my/upload-requests/{request_id}/change",
        data={"expires_on": later, "csrf_token": csrf_of(page.text)},
    )
    assert again.status_code == 410
