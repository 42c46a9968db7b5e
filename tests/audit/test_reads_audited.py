"""Reading the audit trail is audited: every search, export and report states a reason (the
X-Strongroom-Reason header, or the `reason` parameter where a header cannot be sent) and leaves an
event with it. Without a reason: 428 `reason_required`, and nothing is read."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from strongroom.actors import Actor
from strongroom.db.session import transaction
from strongroom.errors import UnsafeText
from strongroom.identity import users
from strongroom.runtime import Runtime
from tests.audit.helpers import why
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

REASON = "Op Kestrel — disclosure review"
CHECKING = "checking the checks"


def audit_reads(client: TestClient, admin: UserFixture, action: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = client.get(
        "/api/v1/audit/events",
        params={"action": action, "reason": CHECKING},
        headers=admin.headers,
    ).json()["events"]
    return [e for e in events if e["reason"] != CHECKING]  # leave out the searches made by this check


@pytest.fixture
def shared_file(client: TestClient, alice: UserFixture) -> tuple[str, str]:
    file_id = client.put("/api/v1/folders/root/files/999.wav", content=b"RIFF", headers=alice.headers).json()[
        "id"
    ]
    link = client.post(
        f"/api/v1/items/{file_id}/shared-links", json={"access_level": "force"}, headers=alice.headers
    )
    return file_id, link.json()["id"]


def test_every_audit_read_needs_a_reason_and_is_recorded_with_it(
    client: TestClient, alice: UserFixture, admin: UserFixture, shared_file: tuple[str, str]
) -> None:
    file_id, link_id = shared_file
    reads = [
        (admin, "/api/v1/audit/events", "audit.log.searched"),
        (admin, "/api/v1/audit/export", "audit.log.exported"),
        (alice, f"/api/v1/items/{file_id}/access-report", "audit.access_report.generated"),
        (alice, f"/api/v1/users/{alice.id}/activity", "audit.activity_report.generated"),
        (admin, f"/api/v1/audit/links/{link_id}/activity", "audit.activity_report.generated"),
        (alice, f"/api/v1/shared-links/{link_id}/access-report", "audit.access_report.generated"),
        (alice, f"/api/v1/items/{file_id}/shared-links/access-report", "audit.access_report.generated"),
        (alice, f"/api/v1/files/{file_id}/custody-report.pdf", "audit.custody_report.generated"),
        (alice, f"/api/v1/files/{file_id}/custody-bundle.json", "audit.custody_report.generated"),
    ]
    for user, url, action in reads:
        before = len(audit_reads(client, admin, action))
        refused = client.get(url, headers=user.headers)
        assert (refused.status_code, refused.json()["code"]) == (428, "reason_required"), url
        assert len(audit_reads(client, admin, action)) == before, f"{url}: a refused read left an event"
        by_header = client.get(url, headers={**user.headers, "X-Strongroom-Reason": quote(REASON)})
        assert by_header.status_code == 200, (url, by_header.text)
        by_parameter = client.get(url, params={"reason": REASON}, headers=user.headers)  # for links and forms
        assert by_parameter.status_code == 200, (url, by_parameter.text)
        recorded = audit_reads(client, admin, action)[before:]
        assert [(e["actor_id"], e["reason"]) for e in recorded] == [(user.id, REASON)] * 2, url
    # The searches made to check all this are in the trail as well, with their own reason.
    checks = client.get(
        "/api/v1/audit/events", params={"action": "audit.log.searched"}, headers=why(admin, CHECKING)
    ).json()["events"]
    assert {e["reason"] for e in checks} == {CHECKING, REASON}


def test_who_may_not_read_is_told_so_before_being_asked_why(
    client: TestClient, alice: UserFixture, bob: UserFixture, shared_file: tuple[str, str]
) -> None:
    file_id, _ = shared_file
    assert client.get("/api/v1/audit/events", headers=alice.headers).status_code == 403
    assert client.get(f"/api/v1/items/{file_id}/access-report", headers=bob.headers).status_code == 404
    unsafe = client.get("/api/v1/audit/events", params={"reason": "a\r\nb"}, headers=why(alice))
    assert unsafe.status_code == 403  # the header's reason wins; alice is no admin either way


def test_the_web_pages_ask_for_the_reason(client: TestClient, alice: UserFixture, admin: UserFixture) -> None:
    file_id = client.put("/api/v1/folders/root/files/note.txt", content=b"x", headers=alice.headers).json()[
        "id"
    ]
    sign_in(client, alice.email)
    item_page = client.get(f"/items/{file_id}")
    assert item_page.status_code == 200
    # The access report is loaded only once the reader says why; the custody PDF is a form with a reason.
    assert re.search(r'id="access-reason" name="reason" required', item_page.text)
    assert f'action="/api/v1/files/{file_id}/custody-report.pdf"' in item_page.text
    assert re.search(r'id="custody-reason" name="reason" required', item_page.text)
    # What the custody form sends: a plain GET with the reason as a parameter, on the session cookie.
    pdf = client.get(f"/api/v1/files/{file_id}/custody-report.pdf", params={"reason": "CPS file build"})
    assert pdf.status_code == 200, pdf.text
    client.cookies.clear()
    sign_in(client, admin.email)
    audit_page = client.get("/admin/audit")
    assert re.search(r'id="audit-reason" name="reason" required', audit_page.text)


def test_a_display_name_with_control_characters_is_refused(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session, pytest.raises(UnsafeText) as refused:
        users.create_user(
            session,
            Actor.system(label="tests"),
            email="pc.jones@force.police.test",
            display_name="PC Jones\u202e",
            password=None,
            is_admin=False,
            clock=runtime.clock,
        )
    assert refused.value.data["field"] == "display_name"
