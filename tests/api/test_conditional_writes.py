"""REST `PUT` of a file honours `If-Match` and `If-None-Match: *` (RFC 9110 §13): a client that saves
what it read earlier cannot overwrite a change made in between, and "create only" never replaces."""

from fastapi.testclient import TestClient

from tests.support.users import UserFixture

URL = "/api/v1/folders/root/files/statement.txt"


def versions(client: TestClient, user: UserFixture, file_id: str) -> list[int]:
    listed = client.get(f"/api/v1/files/{file_id}/versions", headers=user.headers)
    assert listed.status_code == 200, listed.text
    return sorted(v["number"] for v in listed.json())


def test_if_match_refuses_a_stale_write_and_keeps_the_newer_version(
    client: TestClient, alice: UserFixture
) -> None:
    first = client.put(URL, content=b"v1", headers=alice.headers)
    assert first.status_code == 201
    file_id = first.json()["id"]
    read_tag = first.headers["etag"]
    assert read_tag == client.get(f"/api/v1/files/{file_id}", headers=alice.headers).headers["etag"]

    # Someone else saves in between; the first writer's tag is now stale.
    second = client.put(URL, content=b"v2 by a colleague", headers={**alice.headers, "If-Match": read_tag})
    assert second.status_code == 200, second.text
    stale = client.put(URL, content=b"v2 by me", headers={**alice.headers, "If-Match": read_tag})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_changed"
    got = client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers)
    assert got.content == b"v2 by a colleague"
    assert versions(client, alice, file_id) == [1, 2]

    # The content's ETag (what a download carries) is accepted as well; a weak one never is.
    content_tag = got.headers["etag"]
    weak = client.put(URL, content=b"v3", headers={**alice.headers, "If-Match": f"W/{content_tag}"})
    assert weak.status_code == 412
    ok = client.put(URL, content=b"v3", headers={**alice.headers, "If-Match": f'"nope", {content_tag}'})
    assert ok.status_code == 200, ok.text
    assert versions(client, alice, file_id) == [1, 2, 3]


def test_if_match_on_a_missing_file_is_412_and_creates_nothing(
    client: TestClient, alice: UserFixture
) -> None:
    refused = client.put(URL, content=b"x", headers={**alice.headers, "If-Match": "*"})
    assert refused.status_code == 412
    items = client.get("/api/v1/folders/root/items", headers=alice.headers).json()["items"]
    assert items == []


def test_if_none_match_star_creates_only(client: TestClient, alice: UserFixture) -> None:
    created = client.put(URL, content=b"original", headers={**alice.headers, "If-None-Match": "*"})
    assert created.status_code == 201, created.text
    again = client.put(URL, content=b"overwrite", headers={**alice.headers, "If-None-Match": "*"})
    assert again.status_code == 412
    assert again.json()["code"] == "item_exists"
    got = client.get(f"/api/v1/files/{created.json()['id']}/content", headers=alice.headers)
    assert got.content == b"original"


def test_malformed_conditional_headers_are_400(client: TestClient, alice: UserFixture) -> None:
    for name, value in [("If-Match", "no-quotes"), ("If-None-Match", '"a" "b"'), ("If-Match", "")]:
        got = client.put(URL, content=b"x", headers={**alice.headers, name: value})
        assert got.status_code == 400, (name, value, got.text)
        assert got.json()["details"] == {"field": name}
