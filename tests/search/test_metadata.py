"""Metadata templates: defined by administrators, validated, cascaded, audited, copied, searchable."""

from fastapi.testclient import TestClient

from tests.search.helpers import folder, names, share, upload
from tests.support.users import UserFixture

CASE = {
    "key": "case",
    "name": "Case",
    "fields": [
        {"key": "urn", "label": "URN", "type": "text", "required": True},
        {"key": "offence", "label": "Offence", "type": "enum", "options": ["burglary", "robbery", "fraud"]},
        {"key": "officer", "label": "Officer in the case", "type": "text"},
    ],
}
EXHIBIT = {
    "key": "exhibit",
    "name": "Exhibit",
    "fields": [
        {"key": "ref", "label": "Exhibit ref", "type": "text", "required": True},
        {"key": "seized_by", "label": "Seized by", "type": "text"},
        {"key": "seized_at", "label": "Seized at", "type": "date"},
        {"key": "camera", "label": "Camera location", "type": "multi", "options": ["front", "rear", "lobby"]},
        {"key": "bags", "label": "Bags", "type": "number"},
    ],
}


def _templates(client: TestClient, admin: UserFixture) -> None:
    for template in (CASE, EXHIBIT):
        response = client.post("/api/v1/metadata-templates", json=template, headers=admin.headers)
        assert response.status_code == 201, response.text


def _set(
    client: TestClient, user: UserFixture, item: str, key: str, values: dict[str, object], **extra: object
) -> int:
    response = client.put(
        f"/api/v1/items/{item}/metadata/{key}", json={"values": values, **extra}, headers=user.headers
    )
    return response.status_code


def test_only_administrators_define_templates(
    client: TestClient, alice: UserFixture, admin: UserFixture
) -> None:
    refused = client.post("/api/v1/metadata-templates", json=CASE, headers=alice.headers)
    assert refused.status_code == 403
    bad = client.post(
        "/api/v1/metadata-templates",
        json={"key": "x", "name": "X", "fields": [{"key": "a", "type": "colour"}]},
        headers=admin.headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "template_invalid")
    _templates(client, admin)
    listed = client.get("/api/v1/metadata-templates", headers=alice.headers).json()
    assert [t["key"] for t in listed] == ["case", "exhibit"]


def test_values_are_validated_with_stable_codes(
    client: TestClient, alice: UserFixture, admin: UserFixture
) -> None:
    _templates(client, admin)
    item = upload(client, alice, "bag-1.jpg")
    for values in ({"offence": "burglary"}, {"urn": "1", "offence": "arson"}, {"urn": "1", "nope": "x"}):
        response = client.put(
            f"/api/v1/items/{item}/metadata/case", json={"values": values}, headers=alice.headers
        )
        assert (response.status_code, response.json()["code"]) == (400, "metadata_invalid"), values
    for values in (
        {"ref": "E1", "seized_at": "yesterday"},
        {"ref": "E1", "camera": ["roof"]},
        {"ref": "E1", "bags": "2"},
    ):
        response = client.put(
            f"/api/v1/items/{item}/metadata/exhibit", json={"values": values}, headers=alice.headers
        )
        assert (response.status_code, response.json()["code"]) == (400, "metadata_invalid"), values
    assert _set(client, alice, item, "case", {"urn": "01YE1234524", "offence": "burglary"}) == 200
    assert client.get(f"/api/v1/items/{item}/metadata", headers=alice.headers).json() == {
        "case": {"urn": "01YE1234524", "offence": "burglary"}
    }


def test_cascade_query_language_copy_and_audit(
    client: TestClient, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    _templates(client, admin)
    case = folder(client, alice, "Op Heron")
    photo = upload(client, alice, "front-door.jpg", case)
    other = upload(client, alice, "elsewhere.jpg")
    assert (
        _set(
            client,
            alice,
            case,
            "case",
            {"urn": "01YE7", "offence": "robbery", "officer": "DC Hale"},
            cascade=True,
        )
        == 200
    )
    assert (
        _set(
            client,
            alice,
            photo,
            "exhibit",
            {"ref": "JH/1", "seized_at": "2026-03-04", "camera": ["front", "lobby"], "bags": 2},
        )
        == 200
    )
    assert _set(client, alice, other, "exhibit", {"ref": "JH/2", "seized_at": "2025-12-31", "bags": 5}) == 200
    # Metadata words are searchable, and the query language compares typed values.
    assert names(client, alice, q="hale") == ["Op Heron", "front-door.jpg"]

    def where(query: str, **params: object) -> list[str]:
        response = client.post(
            "/api/v1/search", json={"where": query, "params": params}, headers=alice.headers
        )
        assert response.status_code == 200, response.text
        return sorted(hit["name"] for hit in response.json()["hits"])

    assert where('case.offence = "robbery" AND kind = file') == ["front-door.jpg"]
    assert where("exhibit.seized_at BETWEEN 2026-01-01 AND 2026-12-31") == ["front-door.jpg"]
    assert where("exhibit.bags >= :n", n=3) == ["elsewhere.jpg"]
    assert where('exhibit.camera IN ("lobby", "rear") OR exhibit.bags > 4') == [
        "elsewhere.jpg",
        "front-door.jpg",
    ]
    assert where('exhibit.ref ~ "jh" AND NOT exhibit.bags < 4') == ["elsewhere.jpg"]
    assert where('case.officer ~ "hal"') == ["Op Heron", "front-door.jpg"]
    bad = client.post("/api/v1/search", json={"where": "case.urn = "}, headers=alice.headers)
    assert (bad.status_code, bad.json()["code"]) == (400, "query_invalid")
    # Facets count template values of what matched.
    facets = client.get("/api/v1/search", params={"q": "hale"}, headers=alice.headers).json()["facets"]
    assert facets["case.offence"] == {"robbery": 2}
    # Bob sees nothing of it until shared, and then its metadata.
    assert names(client, bob, q="hale") == []
    assert client.get(f"/api/v1/items/{photo}/metadata", headers=bob.headers).status_code == 404
    share(client, alice, case, email=bob.email)
    assert names(client, bob, q="hale") == ["Op Heron", "front-door.jpg"]
    assert _set(client, bob, photo, "case", {"urn": "x"}) == 404  # a viewer may not edit
    # A copy carries the metadata.
    copy = client.post(
        f"/api/v1/files/{photo}/copy", json={"parent_id": "root", "name": "copy.jpg"}, headers=alice.headers
    )
    assert copy.status_code == 201, copy.text
    assert (
        client.get(f"/api/v1/items/{copy.json()['id']}/metadata", headers=alice.headers).json()["exhibit"][
            "ref"
        ]
        == "JH/1"
    )
    # Changes are audited with before and after.
    trail = client.get(
        "/api/v1/audit/events", params={"item_id": photo, "reason": "test"}, headers=admin.headers
    )
    assert trail.status_code == 200, trail.text
    assert "search.metadata.set" in trail.text
    # Removing takes the words out of the index.
    assert client.delete(f"/api/v1/items/{photo}/metadata/case", headers=alice.headers).status_code == 204
    assert names(client, alice, q="hale") == ["Op Heron", "copy.jpg"]
