"""The REST listing is built from Core rows without pydantic: it must stay exactly the documented
ItemRead shape, field for field, for files and folders, locked and not."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.content.models import Item
from strongroom.content.schemas import ItemRead
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def test_listing_items_are_exactly_item_read(
    runtime: Runtime, client: TestClient, alice: UserFixture
) -> None:
    folder = client.post(
        "/api/v1/folders", json={"name": "Case 41", "parent_id": alice.root_id}, headers=alice.headers
    )
    assert folder.status_code == 201, folder.text
    for name in ("b.txt", "a ünïcode.txt"):
        r = client.put(
            f"/api/v1/folders/{alice.root_id}/files/{name}", content=b"evidence", headers=alice.headers
        )
        assert r.status_code == 201, r.text
    listed = client.get(f"/api/v1/folders/{alice.root_id}/items?limit=2", headers=alice.headers)
    assert listed.status_code == 200
    page = listed.json()
    rest = client.get(
        f"/api/v1/folders/{alice.root_id}/items",
        params={"marker": page["next_marker"]},
        headers=alice.headers,
    ).json()
    assert rest["next_marker"] is None
    items = page["items"] + rest["items"]
    assert [i["name"] for i in items] == ["Case 41", "a ünïcode.txt", "b.txt"]  # folders first, by name
    with transaction(runtime.sessions) as session:
        rows = {
            item.id: item for item in session.scalars(select(Item).where(Item.parent_id == alice.root_id))
        }
        expected = [ItemRead.of(rows[i["id"]]).model_dump(mode="json") for i in items]
    assert items == expected
