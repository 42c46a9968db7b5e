"""Classification enforced on every way in: links never serve above their ceiling (whether the item was
moved, raised or copied there), group grants never reach SECRET, and every change is recorded."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.access import labels
from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture, grant_viewer_through_a_group

REASON = {"X-Strongroom-Reason": "Op Trident disclosure review"}


def folder(client: TestClient, owner: UserFixture, name: str, parent: str | None = None) -> str:
    r = client.post(
        "/api/v1/folders", json={"name": name, "parent_id": parent or "root"}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def put(client: TestClient, owner: UserFixture, folder_id: str, name: str, data: bytes = b"bytes") -> str:
    r = client.put(f"/api/v1/folders/{folder_id}/files/{name}", content=data, headers=owner.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def classify(
    client: TestClient, who: UserFixture, item_id: str, label: str, reason: str | None = "review"
) -> Any:
    body: dict[str, str] = {"classification": label}
    if reason is not None:
        body["reason"] = reason
    return client.put(f"/api/v1/items/{item_id}/classification", json=body, headers=who.headers)


def link(client: TestClient, owner: UserFixture, item_id: str, **options: object) -> tuple[str, str]:
    r = client.post(f"/api/v1/items/{item_id}/shared-links", json=options, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["url"].rsplit("/s/", 1)[1]


def events(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return [{"item_id": e.item_id, "details": json.loads(e.details), "reason": e.reason} for e in rows]


def test_a_secret_file_moved_into_a_linked_folder_is_neither_listed_nor_served(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    shared = folder(client, alice, "For the garage")
    elsewhere = folder(client, alice, "Case 41")
    open_file = put(client, alice, shared, "timetable.txt", b"timetable")
    secret = put(client, alice, elsewhere, "informant.txt", b"informant")
    assert classify(client, alice, secret, "SECRET").status_code == 200
    link_id, token = link(client, alice, shared, access_level="anyone")

    moved = client.patch(f"/api/v1/files/{secret}", json={"parent_id": shared}, headers=alice.headers)
    assert moved.status_code == 200, moved.text
    # The move itself is noted against the link, before any visitor comes.
    [noted] = events(runtime, "sharing.link.item_withheld")
    assert noted["details"]["link_id"] == link_id
    assert noted["details"]["cause"] == "moved"

    listing = client.get(f"/s/{token}/api").json()
    assert [i["name"] for i in listing["items"]] == ["timetable.txt"]
    assert "informant.txt" not in client.get(f"/s/{token}").text
    random = client.get(f"/s/{token}/content/fi_doesnotexist", headers={"Accept": "application/json"})
    for path in (f"/s/{token}/content/{secret}", f"/s/{token}/preview/{secret}"):
        refused = client.get(path, headers={"Accept": "application/json"})
        assert refused.status_code == 404
        assert refused.json() == random.json()
    assert client.get(f"/s/{token}/files/{secret}").status_code == 404
    assert client.get(f"/s/{token}/content/{open_file}").content == b"timetable"

    withheld = events(runtime, "sharing.link.item_withheld")
    assert withheld, "the refusal names the link in the audit trail"
    assert {e["details"]["link_id"] for e in withheld} == {link_id}
    assert {e["item_id"] for e in withheld} == {secret}
    assert withheld[0]["details"]["classification"] == "SECRET"

    # Moving it out again: the link still serves what it may, and the secret file stays out.
    client.patch(f"/api/v1/files/{secret}", json={"parent_id": elsewhere}, headers=alice.headers)
    assert [i["name"] for i in client.get(f"/s/{token}/api").json()["items"]] == ["timetable.txt"]


def test_a_folder_raised_above_its_link_stops_the_link_and_says_which(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    shared = folder(client, alice, "Disclosure")
    inside = put(client, alice, shared, "statement.txt", b"statement")
    link_id, token = link(client, alice, shared, access_level="anyone")
    assert client.get(f"/s/{token}/content/{inside}").content == b"statement"

    assert classify(client, alice, shared, "OFFICIAL-SENSITIVE").status_code == 200
    [noted] = events(runtime, "sharing.link.item_withheld")
    assert (noted["details"]["link_id"], noted["details"]["cause"]) == (link_id, "classification raised")
    assert client.get(f"/s/{token}/api").status_code == 410
    assert client.get(f"/s/{token}/content/{inside}").status_code == 410
    assert link_id in {e["details"]["link_id"] for e in events(runtime, "sharing.link.item_withheld")}


def test_link_ceilings_at_creation_follow_the_label(client: TestClient, alice: UserFixture) -> None:
    sensitive = put(client, alice, alice.root_id, "sensitive.txt")
    secret = put(client, alice, alice.root_id, "secret.txt")
    classify(client, alice, sensitive, "OFFICIAL-SENSITIVE")
    classify(client, alice, secret, "SECRET")

    def create(item_id: str, **options: object) -> int:
        r = client.post(
            f"/api/v1/items/{item_id}/shared-links", json=options, headers={**alice.headers, **REASON}
        )
        return r.status_code

    assert create(sensitive, access_level="anyone") == 403
    assert create(sensitive, access_level="force") == 201
    assert create(sensitive, access_level="collaborators") == 201
    for level in ("anyone", "force", "collaborators"):
        assert create(secret, access_level=level) == 403


def test_a_sensitive_item_under_a_force_link_is_served_to_signed_in_staff(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    shared = folder(client, alice, "Briefing")
    sensitive = put(client, alice, shared, "plan.txt", b"plan")
    classify(client, alice, sensitive, "OFFICIAL-SENSITIVE")
    _, anyone = link(client, alice, shared, access_level="anyone")
    _, force = link(client, alice, shared, access_level="force")
    assert client.get(f"/s/{anyone}/api").json()["items"] == []
    listing = client.get(f"/s/{force}/api", headers=bob.headers).json()
    assert [i["name"] for i in listing["items"]] == ["plan.txt"]
    assert client.get(f"/s/{force}/content/{sensitive}", headers=bob.headers).content == b"plan"


def test_group_grants_do_not_reach_secret_items_but_named_grants_do(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    case = folder(client, alice, "Case 77")
    plain = put(client, alice, case, "note.txt", b"note")
    secret = put(client, alice, case, "source.txt", b"source")
    classify(client, alice, secret, "SECRET")
    grant_viewer_through_a_group(runtime, admin=admin, owner=alice, member=bob, item_id=case)
    listing = client.get(f"/api/v1/folders/{case}/items", headers=bob.headers).json()
    assert [i["name"] for i in listing["items"]] == ["note.txt"]
    assert client.get(f"/api/v1/files/{plain}/content", headers=bob.headers).content == b"note"
    random = client.get("/api/v1/files/fi_doesnotexist/content", headers={**bob.headers, **REASON})
    hidden = client.get(f"/api/v1/files/{secret}/content", headers={**bob.headers, **REASON})
    assert hidden.status_code == 404
    assert hidden.json() == random.json()

    r = client.post(
        f"/api/v1/items/{secret}/collaborations",
        json={"role": "viewer", "user_email": bob.email},
        headers={**alice.headers, **REASON},
    )
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/files/{secret}/content", headers=bob.headers).status_code == 428
    assert (
        client.get(f"/api/v1/files/{secret}/content", headers={**bob.headers, **REASON}).content == b"source"
    )


def test_copies_and_new_items_never_drop_below_their_source_or_folder(
    client: TestClient, alice: UserFixture
) -> None:
    secret_folder = folder(client, alice, "Covert")
    assert classify(client, alice, secret_folder, "SECRET").status_code == 200
    created = put(client, alice, secret_folder, "log.txt")
    sub = folder(client, alice, "Sub", parent=secret_folder)
    for path in (f"/api/v1/files/{created}", f"/api/v1/folders/{sub}"):
        assert client.get(path, headers=alice.headers).json()["classification"] == "SECRET"
    # Below its folder's label is refused.
    assert classify(client, alice, created, "OFFICIAL").status_code == 403

    secret = put(client, alice, alice.root_id, "source.txt")
    classify(client, alice, secret, "SECRET")
    public = folder(client, alice, "Public")
    link(client, alice, public, access_level="anyone")
    copy = client.post(f"/api/v1/files/{secret}/copy", json={"parent_id": public}, headers=alice.headers)
    assert copy.status_code == 201, copy.text
    assert copy.json()["classification"] == "SECRET"


def test_who_may_classify_and_what_is_recorded(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    item = put(client, alice, alice.root_id, "statement.txt")
    assert client.get(f"/api/v1/files/{item}", headers=alice.headers).json()["classification"] == "OFFICIAL"
    assert classify(client, alice, item, "SECRET", reason=None).status_code == 428
    assert classify(client, alice, item, "TOP-SECRET").status_code == 400
    assert classify(client, bob, item, "SECRET").status_code == 404  # bob cannot see it

    def grant(role: str) -> str:
        r = client.post(
            f"/api/v1/items/{item}/collaborations",
            json={"role": role, "user_email": bob.email},
            headers=alice.headers,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    grant_id = grant("viewer")
    assert classify(client, bob, item, "OFFICIAL-SENSITIVE").status_code == 403
    client.patch(f"/api/v1/collaborations/{grant_id}", json={"role": "editor"}, headers=alice.headers)
    raised = classify(client, bob, item, "OFFICIAL sensitive", reason="names a witness")
    assert raised.status_code == 200, raised.text
    assert raised.json()["classification"] == "OFFICIAL-SENSITIVE"
    lowered = classify(client, bob, item, "OFFICIAL")
    assert lowered.status_code == 403
    assert lowered.json()["code"] == "not_allowed"
    client.patch(f"/api/v1/collaborations/{grant_id}", json={"role": "co-owner"}, headers=alice.headers)
    assert classify(client, bob, item, "OFFICIAL", reason="witness name redacted").status_code == 200

    changes = events(runtime, "governance.classification.changed")
    assert [
        (e["details"]["from"], e["details"]["to"], e["details"]["direction"], e["reason"]) for e in changes
    ] == [
        ("OFFICIAL", "OFFICIAL-SENSITIVE", "raised", "names a witness"),
        ("OFFICIAL-SENSITIVE", "OFFICIAL", "lowered", "witness name redacted"),
    ]


def test_an_unknown_label_fails_closed() -> None:
    assert labels.rank("TOP SECRET") > labels.rank("SECRET") > labels.rank("OFFICIAL-SENSITIVE")
    assert labels.highest([None, "OFFICIAL", "TOP SECRET"]) == "TOP SECRET"
    assert labels.highest([None]) == "OFFICIAL"
    assert not labels.link_may_serve("TOP SECRET", access_level="force", require_recipient_proof=True)
    assert not labels.group_grants_reach("TOP SECRET")
    assert labels.group_grants_reach("OFFICIAL-SENSITIVE")
