"""The search document's copy of its item's folder (which narrows matches before the permission test)
stays in step with every way an item gets a folder: upload, new folder, move, rename with a move, copy."""

from fastapi.testclient import TestClient
from sqlalchemy import text

from strongroom.runtime import Runtime
from tests.search.helpers import classify, folder, folder_shared_with_group, move, names, share, upload
from tests.support.users import UserFixture


def _out_of_step(runtime: Runtime) -> list[str]:
    """Items whose search document names another folder than the item does (none, always)."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT i.name FROM item i JOIN search_document d ON d.item_id = i.id "
                "WHERE d.parent_id IS DISTINCT FROM i.parent_id"
                if connection.dialect.name == "postgresql"
                else "SELECT i.name FROM item i JOIN search_document d ON d.item_id = i.id "
                "WHERE d.parent_id IS NOT i.parent_id"
            )
        )
        return sorted(row[0] for row in rows)


def test_moves_and_copies_keep_the_documents_folder_in_step(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    shared = folder(client, alice, "curlew shared")
    private = folder(client, alice, "curlew private")
    below = folder(client, alice, "curlew below", shared)
    evidence = upload(client, alice, "curlew-knife.jpg", shared)
    share(client, alice, shared, email=bob.email)
    assert names(client, bob, q="curlew") == ["curlew below", "curlew shared", "curlew-knife.jpg"]
    assert _out_of_step(runtime) == []

    # Into a folder Bob cannot see: gone from his results, counts and facets.
    move(client, alice, evidence, {"parent_id": private})
    assert names(client, bob, q="curlew") == ["curlew below", "curlew shared"]
    body = client.get("/api/v1/search", params={"q": "curlew"}, headers=bob.headers).json()
    assert body["total"] == 2
    assert body["facets"]["kind"] == {"folder": 2}
    assert _out_of_step(runtime) == []

    # Renamed and moved back in one request, into a subfolder: found under its new name.
    move(client, alice, evidence, {"parent_id": below, "name": "curlew-blade.jpg"})
    assert names(client, bob, q="curlew") == ["curlew below", "curlew shared", "curlew-blade.jpg"]

    # A copy into the private folder is Alice's alone; the original stays found by Bob.
    copied = client.post(f"/api/v1/files/{evidence}/copy", json={"parent_id": private}, headers=alice.headers)
    assert copied.status_code == 201, copied.text
    assert names(client, bob, q="curlew") == ["curlew below", "curlew shared", "curlew-blade.jpg"]
    assert names(client, alice, q="curlew").count("curlew-blade.jpg") == 2

    # A folder moved out takes what is below it along.
    move(client, alice, below, {"parent_id": private}, kind="folders")
    assert names(client, bob, q="curlew") == ["curlew shared"]
    assert _out_of_step(runtime) == []


def test_a_secret_label_hides_a_file_from_group_grantees_only(
    client: TestClient, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    _, team = folder_shared_with_group(client, alice, admin, bob, "dunlin")
    statement = upload(client, alice, "dunlin-statement.pdf", team)
    assert names(client, bob, q="dunlin") == ["dunlin", "dunlin-statement.pdf"]
    classify(client, alice, statement, "SECRET")
    assert names(client, bob, q="dunlin") == ["dunlin"]
    body = client.get("/api/v1/search", params={"q": "dunlin"}, headers=bob.headers).json()
    assert body["total"] == 1
    assert "SECRET" not in body["facets"]["classification"]
    # A grant by name reaches SECRET (as can() says).
    share(client, alice, team, email=bob.email)
    assert names(client, bob, q="dunlin") == ["dunlin", "dunlin-statement.pdf"]
