"""Making folders, files, grants and labels for search tests through the REST door."""

from fastapi.testclient import TestClient

from tests.support.users import UserFixture


def folder(client: TestClient, user: UserFixture, name: str, parent: str = "root") -> str:
    response = client.post("/api/v1/folders", json={"name": name, "parent_id": parent}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def upload(client: TestClient, user: UserFixture, name: str, parent: str = "root", data: bytes = b"x") -> str:
    response = client.put(f"/api/v1/folders/{parent}/files/{name}", content=data, headers=user.headers)
    assert response.status_code in {200, 201}, response.text
    return str(response.json()["id"])


def share(
    client: TestClient,
    owner: UserFixture,
    item_id: str,
    *,
    email: str | None = None,
    group: str | None = None,
) -> None:
    body = {"role": "viewer", "user_email": email} if email else {"role": "viewer", "group_id": group}
    response = client.post(f"/api/v1/items/{item_id}/collaborations", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text


def classify(client: TestClient, user: UserFixture, item_id: str, label: str) -> None:
    response = client.put(
        f"/api/v1/items/{item_id}/classification",
        json={"classification": label, "reason": "test of search"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text


def names(client: TestClient, user: UserFixture, **params: object) -> list[str]:
    response = client.get("/api/v1/search", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return sorted(hit["name"] for hit in response.json()["hits"])


def move(
    client: TestClient, user: UserFixture, item_id: str, body: dict[str, str], kind: str = "files"
) -> None:
    response = client.patch(f"/api/v1/{kind}/{item_id}", json=body, headers=user.headers)
    assert response.status_code == 200, response.text


def group_of(client: TestClient, admin: UserFixture, name: str, member: UserFixture) -> str:
    """A group with one member; its id."""
    group = client.post("/api/v1/groups", json={"name": name}, headers=admin.headers)
    assert group.status_code == 201, group.text
    group_id = str(group.json()["id"])
    added = client.post(
        f"/api/v1/groups/{group_id}/members", json={"email": member.email}, headers=admin.headers
    )
    assert added.status_code == 204, added.text
    return group_id


def folder_shared_with_group(
    client: TestClient, owner: UserFixture, admin: UserFixture, member: UserFixture, name: str
) -> tuple[str, str]:
    """The tree the label tests start from: `owner`'s folder `name`, shared through a group whose only
    member is `member`. The group's id and the folder's id."""
    group_id = group_of(client, admin, f"{name} team", member)
    shared = folder(client, owner, name)
    share(client, owner, shared, group=group_id)
    return group_id, shared
