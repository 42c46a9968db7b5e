"""Search finds only what the searcher may see: owner, grants (by name, through groups), labels, trash."""

from fastapi.testclient import TestClient

from tests.search.helpers import (
    classify,
    folder,
    folder_shared_with_group,
    group_of,
    move,
    names,
    share,
    upload,
)
from tests.support.users import UserFixture


def test_words_find_names_and_only_your_own(client: TestClient, alice: UserFixture, bob: UserFixture) -> None:
    case = folder(client, alice, "Operation Nightjar")
    upload(client, alice, "nightjar-interview.txt", case)
    upload(client, bob, "nightjar-notes.txt")
    assert names(client, alice, q="nightjar") == ["Operation Nightjar", "nightjar-interview.txt"]
    assert names(client, bob, q="nightjar") == ["nightjar-notes.txt"]
    assert names(client, alice, q="NIGHT") == ["Operation Nightjar", "nightjar-interview.txt"]  # prefixes


def test_a_grant_reaches_everything_below_and_counts_leak_nothing(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    shared = folder(client, alice, "shared evidence")
    inner = folder(client, alice, "cctv", shared)
    upload(client, alice, "cctv-front.mp4", inner)
    secret = upload(client, alice, "cctv-informant.mp4", inner)
    classify(client, alice, secret, "SECRET")
    upload(client, alice, "cctv-private.mp4")
    share(client, alice, shared, email=bob.email)
    # Bob's grant is by name, so it reaches the SECRET file as can() says.
    assert names(client, bob, q="cctv") == ["cctv", "cctv-front.mp4", "cctv-informant.mp4"]
    body = client.get("/api/v1/search", params={"q": "cctv"}, headers=bob.headers).json()
    assert body["total"] == 3
    assert sum(body["facets"]["kind"].values()) == 3
    # Trash hides the item and everything below it, for everyone.
    assert client.delete(f"/api/v1/folders/{inner}", headers=alice.headers).status_code == 200
    assert names(client, bob, q="cctv") == []
    assert names(client, alice, q="cctv") == ["cctv-private.mp4"]


def test_a_group_grant_never_reaches_secret(
    client: TestClient, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    _, shared = folder_shared_with_group(client, alice, admin, bob, "kestrel")
    upload(client, alice, "kestrel-statement.pdf", shared)
    hidden = folder(client, alice, "kestrel-source", shared)
    upload(client, alice, "kestrel-handler.pdf", hidden)
    classify(client, alice, hidden, "SECRET")
    assert names(client, bob, q="kestrel") == ["kestrel", "kestrel-statement.pdf"]
    body = client.get("/api/v1/search", params={"q": "kestrel"}, headers=bob.headers).json()
    assert body["total"] == 2
    assert "SECRET" not in body["facets"]["classification"]
    assert names(client, alice, q="kestrel") == [
        "kestrel",
        "kestrel-handler.pdf",
        "kestrel-source",
        "kestrel-statement.pdf",
    ]


def test_keyset_paging_walks_every_hit_once(client: TestClient, alice: UserFixture) -> None:
    for n in range(7):
        upload(client, alice, f"exhibit-{n}.jpg")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"q": "exhibit", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/search", params=params, headers=alice.headers).json()
        seen += [hit["name"] for hit in page["hits"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"exhibit-{n}.jpg" for n in range(7)]
    bad = client.get("/api/v1/search", params={"q": "x", "cursor": "!!"}, headers=alice.headers)
    assert bad.status_code == 400


def test_moving_into_and_out_of_a_shared_folder_changes_what_is_found(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    shared = folder(client, alice, "plover shared")
    private = folder(client, alice, "plover private")
    inner = folder(client, alice, "plover inner", private)
    upload(client, alice, "plover-deep.jpg", inner)
    loose = upload(client, alice, "plover-loose.jpg", private)
    share(client, alice, shared, email=bob.email)
    assert names(client, bob, q="plover") == ["plover shared"]
    # Moved in: a file, and a folder with a file below it.
    move(client, alice, loose, {"parent_id": shared})
    move(client, alice, inner, {"parent_id": shared}, kind="folders")
    assert names(client, bob, q="plover") == [
        "plover inner",
        "plover shared",
        "plover-deep.jpg",
        "plover-loose.jpg",
    ]
    body = client.get("/api/v1/search", params={"q": "plover"}, headers=bob.headers).json()
    assert body["total"] == 4
    # Moved out again: gone from Bob's results, counts and facets alike.
    move(client, alice, inner, {"parent_id": private}, kind="folders")
    move(client, alice, loose, {"parent_id": "root"})
    assert names(client, bob, q="plover") == ["plover shared"]
    body = client.get("/api/v1/search", params={"q": "plover"}, headers=bob.headers).json()
    assert body["total"] == 1
    assert body["facets"]["kind"] == {"folder": 1}


def test_leaving_a_group_or_losing_a_grant_hides_at_once(
    client: TestClient, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    group_id = group_of(client, admin, "Major crimes", bob)
    by_group = folder(client, alice, "curlew group")
    upload(client, alice, "curlew-one.txt", by_group)
    by_name = folder(client, alice, "curlew named")
    upload(client, alice, "curlew-two.txt", by_name)
    share(client, alice, by_group, group=group_id)
    granted = client.post(
        f"/api/v1/items/{by_name}/collaborations",
        json={"role": "viewer", "user_email": bob.email},
        headers=alice.headers,
    )
    assert granted.status_code == 201, granted.text
    assert names(client, bob, q="curlew") == [
        "curlew group",
        "curlew named",
        "curlew-one.txt",
        "curlew-two.txt",
    ]
    removed = client.delete(f"/api/v1/groups/{group_id}/members/{bob.id}", headers=admin.headers)
    assert removed.status_code == 204, removed.text
    assert names(client, bob, q="curlew") == ["curlew named", "curlew-two.txt"]
    revoked = client.delete(f"/api/v1/collaborations/{granted.json()['id']}", headers=alice.headers)
    assert revoked.status_code == 204, revoked.text
    body = client.get("/api/v1/search", params={"q": "curlew"}, headers=bob.headers).json()
    assert body["hits"] == []
    assert body["total"] == 0
    assert body["facets"].get("kind", {}) == {}


def test_a_grant_on_one_file_finds_that_file_and_trash_hides_a_file(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    case = folder(client, alice, "dunlin")
    lone = upload(client, alice, "dunlin-statement.pdf", case)
    upload(client, alice, "dunlin-other.pdf", case)
    share(client, alice, lone, email=bob.email)
    assert names(client, bob, q="dunlin") == ["dunlin-statement.pdf"]
    assert client.delete(f"/api/v1/files/{lone}", headers=alice.headers).status_code == 200
    assert names(client, bob, q="dunlin") == []
    assert names(client, alice, q="dunlin") == ["dunlin", "dunlin-other.pdf"]
