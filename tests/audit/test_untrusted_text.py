"""Audit text is untrusted: a CR/LF in a reason must not forge a record in the syslog export, and a
bidi override must not make a name read backwards in a report. Such text is refused where it comes
in (400 `unsafe_text`, or `name_invalid` for item names), and every export writes one line per
event even for text stored before the rule."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import export
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.audit.helpers import export_lines, verify_db, why
from tests.support.users import UserFixture

FORGED_RECORD = (
    '\r\n<110>1 2026-12-01T10:00:00Z host strongroom - content.version.read [strongroom@32473 seq="9"]'
)
UNSAFE = ["\r\n", "\n", "\t", "\x00", "\x1b[31m", "\x85", "\u2028", "\u2029", "\u202e", "\u2066", "\u200f"]


def upload(client: TestClient, user: UserFixture, name: str) -> dict[str, object]:
    response = client.put(f"/api/v1/folders/root/files/{quote(name)}", content=b"x", headers=user.headers)
    assert response.status_code in {200, 201}, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_reason_with_a_line_break_is_refused_and_cannot_forge_a_syslog_record(
    client: TestClient, alice: UserFixture, admin: UserFixture
) -> None:
    file = upload(client, alice, "statement.pdf")
    url = f"/api/v1/files/{file['id']}/content"
    refused = client.get(
        url, headers={**alice.headers, "X-Strongroom-Reason": quote("Op Kestrel" + FORGED_RECORD)}
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "unsafe_text"
    assert refused.json()["details"]["field"] == "reason"
    assert refused.json()["details"]["characters"] == ["U+000D", "U+000A"]
    assert "control or text-direction characters" in refused.json()["message"]
    for bad in UNSAFE:
        answer = client.get(url, headers={**alice.headers, "X-Strongroom-Reason": quote(f"why{bad}not")})
        assert (answer.status_code, answer.json()["code"]) == (400, "unsafe_text"), repr(bad)
    assert (
        client.get(
            url, headers={**alice.headers, "X-Strongroom-Reason": quote("Op Kestrel — café")}
        ).status_code
        == 200
    )
    searched = client.get(
        "/api/v1/audit/events",
        params={"item_id": str(file["id"]), "action": "content.version.read"},
        headers=why(admin),
    ).json()["events"]
    assert [e["reason"] for e in searched] == ["Op Kestrel — café"]  # the refused reads left no event


def test_names_addresses_and_form_fields_refuse_control_and_bidi_characters(
    client: TestClient, alice: UserFixture, admin: UserFixture
) -> None:
    spoof = "invoice\u202efdp.exe"  # reads "invoiceexe.pdf"
    item = client.put(f"/api/v1/folders/root/files/{quote(spoof)}", content=b"x", headers=alice.headers)
    assert (item.status_code, item.json()["code"]) == (400, "name_invalid")
    folder = client.post(
        "/api/v1/folders", json={"parent_id": "root", "name": "Op\u2028Kestrel"}, headers=alice.headers
    )
    assert (folder.status_code, folder.json()["code"]) == (400, "name_invalid")

    group = client.post("/api/v1/groups", json={"name": "CID\r\nadmins"}, headers=admin.headers)
    assert (group.status_code, group.json()["code"]) == (400, "unsafe_text")

    file = upload(client, alice, "cctv.mp4")
    links = f"/api/v1/items/{file['id']}/shared-links"
    recipient = client.post(
        links, json={"access_level": "anyone", "recipients": ["cps@cps.gov.uk\u202e"]}, headers=alice.headers
    )
    assert (recipient.status_code, recipient.json()["code"]) == (400, "unsafe_text")
    named = client.post(links, json={"access_level": "anyone", "name": "CPS\x1b[2J"}, headers=alice.headers)
    assert (named.status_code, named.json()["code"]) == (400, "unsafe_text")

    requests = f"/api/v1/folders/{alice.root_id}/upload-requests"
    titled = client.post(requests, json={"title": "CCTV\r\nfor 44"}, headers=alice.headers)
    assert (titled.status_code, titled.json()["code"]) == (400, "unsafe_text")
    created = client.post(requests, json={"title": "CCTV for incident 44"}, headers=alice.headers)
    assert created.status_code == 201, created.text
    token = created.json()["url"].rsplit("/r/", 1)[1]
    start = f"/r/{token}/api/submissions"
    for form in (
        {"name": "Sam\u202eDriver", "email": "sam@buses.example"},
        {"name": "Sam Driver", "email": "sam@buses.example\u2028"},
        {"name": "Sam Driver", "email": "sam@buses.example", "organisation": "Buses\r\nLtd"},
    ):
        answer = client.post(start, json={"form": form})
        assert (answer.status_code, answer.json()["code"]) == (400, "unsafe_text"), form
    # A text area keeps its line breaks; they are escaped in every export.
    fine = {"name": "Sam Driver", "email": "sam@buses.example", "description": "Camera 3\r\nCamera 4"}
    assert client.post(start, json={"form": fine}).status_code == 201


# PostgreSQL text cannot hold NUL, so no stored event can; the rest may sit in logs written before the rule.
STORABLE = [bad for bad in UNSAFE if bad != "\x00"]


@pytest.mark.parametrize("bad", STORABLE)
def test_every_export_keeps_one_line_per_event_even_for_old_data(runtime: Runtime, bad: str) -> None:
    # Events stored before the rule (written straight through record(), as old code did).
    sneaky = Actor(
        kind=ActorKind.USER,
        id="us_x",
        label=f"pc{bad}smith@force.police.test",
        origin=Origin(user_agent=f"curl{bad}"),
    )
    with transaction(runtime.sessions) as session:
        record(
            session,
            sneaky,
            AuditAction.CONTENT_READ,
            item=ItemRef("file", "fi_1", f"exhibit{bad}.mp4"),
            details={"note": f"a{bad}b"},
            reason="Op Kestrel" + FORGED_RECORD + bad,
            at=runtime.clock.now(),
        )
        record(
            session,
            sneaky,
            AuditAction.CONTENT_READ,
            item=ItemRef("file", "fi_2", "next.mp4"),
            at=runtime.clock.now(),
        )
    syslog = "".join(export.syslog_lines(runtime.sessions, hostname="sr1"))
    assert len(syslog.split("\n")) == 3  # two events, two lines (and the final newline)
    assert len(syslog.splitlines()) == 2  # also for readers that split on NEL, U+2028...
    assert all(line.startswith("<110>1 ") for line in syslog.splitlines())
    assert all(bad not in line for line in syslog.split("\n")[:-1])
    first = syslog.splitlines()[0]
    assert json.loads(first.split("] ", 1)[1])["reason"].endswith(bad)  # the JSON holds the exact text

    lines = export_lines(runtime)
    assert len("".join(lines).splitlines()) == len(lines) == 4  # header, two events, end
    assert verify_db(runtime).ok  # the escapes decode to exactly the text that was hashed
