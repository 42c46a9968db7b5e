import os

import pytest
from fastapi.testclient import TestClient

from tests.api.test_upload_download import upload
from tests.support.users import UserFixture


def make_folder(client: TestClient, user: UserFixture, name: str, parent: str = "root") -> dict[str, object]:
    response = client.post("/api/v1/folders", json={"name": name, "parent_id": parent}, headers=user.headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def names(client: TestClient, user: UserFixture, folder: str = "root") -> list[str]:
    return [
        i["name"] for i in client.get(f"/api/v1/folders/{folder}/items", headers=user.headers).json()["items"]
    ]


def test_requests_without_a_valid_token_get_401(client: TestClient, alice: UserFixture) -> None:
    assert client.get("/api/v1/folders/root/items").status_code == 401
    response = client.get("/api/v1/folders/root/items", headers={"Authorization": "Bearer srpat_nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_folder_listing_puts_folders_first_and_pages_by_marker(
    client: TestClient, alice: UserFixture
) -> None:
    for n in ["b.txt", "A.txt", "c.txt"]:
        upload(client, alice, n, b"x")
    make_folder(client, alice, "Zeta")
    make_folder(client, alice, "alpha")
    seen: list[str] = []
    marker = None
    while True:
        params = {"limit": 2, **({"marker": marker} if marker else {})}
        page = client.get("/api/v1/folders/root/items", params=params, headers=alice.headers).json()
        seen += [i["name"] for i in page["items"]]
        marker = page["next_marker"]
        if marker is None:
            break
    assert seen == ["alpha", "Zeta", "A.txt", "b.txt", "c.txt"]


def test_folder_details_give_breadcrumbs(client: TestClient, alice: UserFixture) -> None:
    case = make_folder(client, alice, "Op Lantern")
    exhibits = make_folder(client, alice, "Exhibits", parent=str(case["id"]))
    got = client.get(f"/api/v1/folders/{exhibits['id']}", headers=alice.headers).json()
    assert [p["name"] for p in got["path"]] == ["All files", "Op Lantern", "Exhibits"]


@pytest.mark.parametrize("bad", ["a/b", "nul\x00here", "tab\there", ".", "..", "x" * 256, "é" * 128, " lead"])
def test_bad_names_are_refused_with_a_clear_message(client: TestClient, alice: UserFixture, bad: str) -> None:
    response = client.post("/api/v1/folders", json={"name": bad, "parent_id": "root"}, headers=alice.headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] in {"name_invalid", "bad_input"}
    assert response.json()["message"]
    assert names(client, alice) == []


def test_slash_in_an_uploaded_file_name_is_refused(client: TestClient, alice: UserFixture) -> None:
    response = client.put("/api/v1/folders/root/files/a%2Fb.txt", content=b"x", headers=alice.headers)
    assert response.status_code == 400
    assert response.json()["code"] == "name_invalid"


def test_names_are_unique_in_a_folder_case_insensitively(client: TestClient, alice: UserFixture) -> None:
    make_folder(client, alice, "Statements")
    clash = client.post(
        "/api/v1/folders", json={"name": "STATEMENTS", "parent_id": "root"}, headers=alice.headers
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "name_taken"
    folder_vs_file = client.put("/api/v1/folders/root/files/statements", content=b"x", headers=alice.headers)
    assert folder_vs_file.status_code == 409


def test_same_name_upload_makes_a_new_version_and_versions_can_be_restored(
    client: TestClient, alice: UserFixture
) -> None:
    first = upload(client, alice, "statement.pdf", b"version one")
    second = upload(client, alice, "Statement.PDF", b"version two")
    assert second["id"] == first["id"]
    assert second["version_number"] == 2
    versions = client.get(f"/api/v1/files/{first['id']}/versions", headers=alice.headers).json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["current"] is True
    old = client.get(
        f"/api/v1/files/{first['id']}/versions/{first['version_id']}/content", headers=alice.headers
    )
    assert old.content == b"version one"
    restored = client.post(
        f"/api/v1/files/{first['id']}/versions/{first['version_id']}/restore", headers=alice.headers
    )
    assert restored.status_code == 201
    assert restored.json()["number"] == 3
    assert client.get(f"/api/v1/files/{first['id']}/content", headers=alice.headers).content == b"version one"


def test_other_users_items_answer_404_exactly_like_missing_ones(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    file_id = upload(client, alice, "secret.txt", b"alice only")["id"]
    folder_id = make_folder(client, alice, "Private")["id"]
    for path in [
        f"/api/v1/files/{file_id}",
        f"/api/v1/files/{file_id}/content",
        f"/api/v1/folders/{folder_id}/items",
    ]:
        foreign = client.get(path, headers=bob.headers)
        missing = client.get(
            path.replace(str(file_id), "fi_doesnotexist").replace(str(folder_id), "fo_nope"),
            headers=bob.headers,
        )
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["message"].replace(str(file_id), "").replace(
            str(folder_id), ""
        ) == missing.json()["message"].replace("fi_doesnotexist", "").replace("fo_nope", "")
    assert (
        client.put(f"/api/v1/folders/{folder_id}/files/x", content=b"x", headers=bob.headers).status_code
        == 404
    )
    assert client.delete(f"/api/v1/files/{file_id}", headers=bob.headers).status_code == 404
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).content == b"alice only"


def test_rename_move_copy(client: TestClient, alice: UserFixture) -> None:
    case = make_folder(client, alice, "Case 42")
    data = os.urandom(5000)
    file = upload(client, alice, "bwv.mp4", data)
    renamed = client.patch(
        f"/api/v1/files/{file['id']}", json={"name": "bwv-officer-1.mp4"}, headers=alice.headers
    )
    assert renamed.status_code == 200
    moved = client.patch(f"/api/v1/files/{file['id']}", json={"parent_id": case["id"]}, headers=alice.headers)
    assert moved.status_code == 200
    assert names(client, alice, str(case["id"])) == ["bwv-officer-1.mp4"]
    copy = client.post(f"/api/v1/files/{file['id']}/copy", json={"parent_id": "root"}, headers=alice.headers)
    assert copy.status_code == 201
    assert copy.json()["sha256"] == file["sha256"]
    assert client.get(f"/api/v1/files/{copy.json()['id']}/content", headers=alice.headers).content == data
    folder_copy = client.post(
        f"/api/v1/folders/{case['id']}/copy",
        json={"parent_id": "root", "name": "Case 42 (copy)"},
        headers=alice.headers,
    )
    assert folder_copy.status_code == 201
    assert names(client, alice, folder_copy.json()["id"]) == ["bwv-officer-1.mp4"]
    into_itself = client.patch(
        f"/api/v1/folders/{case['id']}", json={"parent_id": case["id"]}, headers=alice.headers
    )
    assert into_itself.status_code == 400


def test_if_match_protects_against_lost_updates(client: TestClient, alice: UserFixture) -> None:
    file = upload(client, alice, "notes.txt", b"x")
    etag = client.get(f"/api/v1/files/{file['id']}", headers=alice.headers).headers["etag"]
    first = client.patch(
        f"/api/v1/files/{file['id']}", json={"name": "n1.txt"}, headers={**alice.headers, "If-Match": etag}
    )
    assert first.status_code == 200
    stale = client.patch(
        f"/api/v1/files/{file['id']}", json={"name": "n2.txt"}, headers={**alice.headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_changed"


def test_trash_restore_and_purge(client: TestClient, alice: UserFixture) -> None:
    folder = make_folder(client, alice, "Disclosure")
    inner = upload(client, alice, "mg6c.pdf", b"schedule", folder=str(folder["id"]))
    assert client.delete(f"/api/v1/folders/{folder['id']}", headers=alice.headers).status_code == 200
    assert names(client, alice) == []
    assert client.get(f"/api/v1/files/{inner['id']}", headers=alice.headers).status_code == 404
    trash = client.get("/api/v1/trash", headers=alice.headers).json()
    assert [t["name"] for t in trash] == ["Disclosure"]
    make_folder(client, alice, "Disclosure")  # the name is free while the original is in the trash
    restored = client.post(f"/api/v1/trash/{folder['id']}/restore", headers=alice.headers)
    assert restored.status_code == 200
    assert restored.json()["name"] == "Disclosure (restored)"
    assert client.get(f"/api/v1/files/{inner['id']}/content", headers=alice.headers).content == b"schedule"
    assert client.delete(f"/api/v1/files/{inner['id']}", headers=alice.headers).status_code == 200
    assert client.delete(f"/api/v1/trash/{inner['id']}", headers=alice.headers).status_code == 204
    assert client.get("/api/v1/trash", headers=alice.headers).json() == []
    assert client.post(f"/api/v1/trash/{inner['id']}/restore", headers=alice.headers).status_code == 404


def test_locks_stop_other_changes_until_released(client: TestClient, alice: UserFixture) -> None:
    file = upload(client, alice, "report.docx", b"draft")
    locked = client.post(f"/api/v1/files/{file['id']}/lock", json={"minutes": 30}, headers=alice.headers)
    assert locked.status_code == 200
    assert locked.json()["locked"] is True
    assert client.delete(f"/api/v1/files/{file['id']}/lock", headers=alice.headers).json()["locked"] is False


def test_unknown_json_fields_and_wrong_types_are_400(client: TestClient, alice: UserFixture) -> None:
    response = client.post(
        "/api/v1/folders", json={"name": "x", "parent_id": "root", "evil": 1}, headers=alice.headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_input"
    response = client.get("/api/v1/folders/root/items?limit=abc", headers=alice.headers)
    assert response.status_code == 400
    response = client.get("/api/v1/folders/root/items?marker=garbage!!", headers=alice.headers)
    assert response.status_code == 400
