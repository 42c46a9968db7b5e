"""The force's directory provisions people over SCIM, and a deactivated account stops on every door."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from strongroom.content.dav_locks import DavLock
from strongroom.content.models import TusUpload
from strongroom.db.session import transaction
from strongroom.identity.models import User
from strongroom.runtime import Runtime
from tests.api.test_tus import TUS, create, patch
from tests.support.live import LiveServer
from tests.support.users import PASSWORD, UserFixture

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=120) as client:
        yield client


def new_user(http: httpx.Client, headers: dict[str, str], name: str, **extra: object) -> dict[str, object]:
    body = {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"ext-{name}",
        "displayName": name.split("@", maxsplit=1)[0].title(),
        "emails": [{"value": name, "primary": True, "type": "work"}],
        "active": True,
        **extra,
    }
    response = http.post("/scim/v2/Users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_users_are_created_found_paged_and_versioned(
    http: httpx.Client, scim_headers: dict[str, str]
) -> None:
    made = [new_user(http, scim_headers, f"officer{n}@force.police.test") for n in range(5)]
    found = http.get(
        "/scim/v2/Users", params={"filter": 'userName eq "OFFICER3@force.police.test"'}, headers=scim_headers
    )
    assert found.json()["totalResults"] == 1
    assert found.json()["Resources"][0]["id"] == made[3]["id"]
    by_external = http.get(
        "/scim/v2/Users",
        params={"filter": 'externalId eq "ext-officer1@force.police.test"'},
        headers=scim_headers,
    )
    assert [r["id"] for r in by_external.json()["Resources"]] == [made[1]["id"]]
    page = http.get("/scim/v2/Users", params={"startIndex": 2, "count": 2}, headers=scim_headers).json()
    assert page["totalResults"] == 5
    assert page["startIndex"] == 2
    assert len(page["Resources"]) == 2
    assert [r["id"] for r in page["Resources"]] == [made[1]["id"], made[2]["id"]]
    starts = http.get(
        "/scim/v2/Users", params={"filter": 'userName sw "officer"'}, headers=scim_headers
    ).json()
    assert starts["totalResults"] == 5

    url = f"/scim/v2/Users/{made[0]['id']}"
    first = http.get(url, headers=scim_headers)
    etag = first.headers["ETag"]
    rename = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "displayName", "value": "PC Smith"}],
    }
    changed = http.patch(url, json=rename, headers={**scim_headers, "If-Match": etag})
    assert changed.status_code in (200, 204), changed.text  # 204: nothing asked back (RFC 7644 §3.5.2)
    after = http.get(url, headers=scim_headers)
    assert after.json()["displayName"] == "PC Smith"
    assert after.headers["ETag"] != etag
    stale = http.patch(url, json=rename, headers={**scim_headers, "If-Match": etag})
    assert stale.status_code == 412
    assert http.get(url, headers={**scim_headers, "If-None-Match": after.headers["ETag"]}).status_code == 304

    taken = http.post(
        "/scim/v2/Users",
        json={"schemas": [USER_SCHEMA], "userName": "Officer2@force.police.test"},
        headers=scim_headers,
    )
    assert taken.status_code == 409
    assert taken.json()["scimType"] == "uniqueness"


def test_groups_carry_their_members_and_deleting_removes_them(
    http: httpx.Client, scim_headers: dict[str, str]
) -> None:
    one = new_user(http, scim_headers, "one@force.police.test")
    two = new_user(http, scim_headers, "two@force.police.test")
    group = http.post(
        "/scim/v2/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "Major Crimes", "members": [{"value": one["id"]}]},
        headers=scim_headers,
    )
    assert group.status_code == 201, group.text
    url = f"/scim/v2/Groups/{group.json()['id']}"
    add = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": two["id"]}]}],
    }
    assert http.patch(url, json=add, headers=scim_headers).status_code in (200, 204)
    members = {m["value"] for m in http.get(url, headers=scim_headers).json()["members"]}
    assert members == {one["id"], two["id"]}
    found = http.get(
        "/scim/v2/Groups", params={"filter": 'displayName eq "major crimes"'}, headers=scim_headers
    )
    assert found.json()["totalResults"] == 1
    assert http.delete(url, headers=scim_headers).status_code == 204
    assert http.get(url, headers=scim_headers).status_code == 404


def test_only_a_provisioning_token_opens_the_door(http: httpx.Client, alice: UserFixture) -> None:
    assert http.get("/scim/v2/ServiceProviderConfig").status_code == 200  # discovery is public (RFC 7643 §5)
    assert http.get("/scim/v2/Users").status_code == 401
    assert http.get("/scim/v2/Users", headers=alice.headers).status_code == 401
    assert http.get("/scim/v2/Users", auth=(alice.email, PASSWORD)).status_code == 401


def test_a_deleted_user_is_gone_from_scim_but_kept_for_the_record(
    http: httpx.Client, scim_headers: dict[str, str], runtime: Runtime
) -> None:
    made = new_user(http, scim_headers, "leaver@force.police.test")
    url = f"/scim/v2/Users/{made['id']}"
    assert http.delete(url, headers=scim_headers).status_code == 204
    assert http.get(url, headers=scim_headers).status_code == 404
    again = new_user(http, scim_headers, "leaver@force.police.test")  # the name is free again
    assert again["id"] != made["id"]


def test_deactivation_ends_every_door_at_the_next_request(
    http: httpx.Client,
    live_server: LiveServer,
    scim_headers: dict[str, str],
    alice: UserFixture,
    runtime: Runtime,
) -> None:
    # Alice is signed in in a browser, has a token, a mounted drive, a lock and an unfinished upload.
    browser = httpx.Client(base_url=live_server.url, timeout=60)
    form = browser.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    signed_in = browser.post(
        "/login",
        data={"email": alice.email, "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/files"},
    )
    assert signed_in.status_code == 303, signed_in.text
    assert browser.get("/api/v1/me").status_code == 200
    assert http.get("/api/v1/me", headers=alice.headers).status_code == 200
    dav = httpx.Client(base_url=f"{live_server.url}/dav", auth=(alice.email, alice.token), timeout=60)
    assert dav.put("/statement.txt", content=b"v1").status_code in (200, 201, 204)
    lockinfo = (
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
        "<D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>"
    )
    assert dav.request("LOCK", "/statement.txt", content=lockinfo).status_code == 200
    upload = create(http, alice, 300_000)
    assert patch(http, alice, upload, 0, b"x" * 100_000).status_code == 204
    with transaction(runtime.sessions) as session:  # her account is linked to the directory
        linked = session.get(User, alice.id)
        assert linked is not None
        linked.external_id = "ext-alice"

    found = http.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{alice.email}"'}, headers=scim_headers
    )
    alice_id = found.json()["Resources"][0]["id"]
    off = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    answer = http.patch(f"/scim/v2/Users/{alice_id}", json=off, headers=scim_headers)
    assert answer.status_code in (200, 204), answer.text
    assert http.get(f"/scim/v2/Users/{alice_id}", headers=scim_headers).json()["active"] is False

    assert browser.get("/api/v1/me").status_code == 401  # web session ended
    assert http.get("/api/v1/me", headers=alice.headers).status_code == 401  # token refused
    assert dav.request("PROPFIND", "/", headers={"Depth": "0"}).status_code == 401  # drive refused
    assert patch(http, alice, upload, 100_000, b"y" * 1000).status_code == 401  # upload refused
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(DavLock)) == 0  # lock released
        assert session.scalar(select(func.count()).select_from(TusUpload)) == 0  # upload discarded
    assert http.head(upload, headers={**alice.headers, **TUS}).status_code == 401
    browser.close()
    dav.close()


def test_bad_requests_get_scim_errors_not_500s(http: httpx.Client, scim_headers: dict[str, str]) -> None:
    broken = http.post("/scim/v2/Users", content=b"{not json", headers=scim_headers)
    assert broken.status_code == 400
    assert broken.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    bad_filter = http.get(
        "/scim/v2/Users", params={"filter": 'userName eq "unterminated'}, headers=scim_headers
    )
    assert bad_filter.status_code == 400
    assert bad_filter.json()["scimType"] == "invalidFilter"
    assert http.get("/scim/v2/Nothing", headers=scim_headers).status_code == 404
    assert http.get("/scim/v2/Users/u_nosuchuser", headers=scim_headers).status_code == 404
    huge = http.post("/scim/v2/Users", content=b" " * (17 << 20), headers=scim_headers)
    assert huge.status_code == 413
    no_name = http.post("/scim/v2/Users", json={"schemas": [USER_SCHEMA]}, headers=scim_headers)
    assert no_name.status_code == 400
    group_in_group = http.post(
        "/scim/v2/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Outer",
            "members": [{"value": "grp_x", "type": "Group"}],
        },
        headers=scim_headers,
    )
    assert group_in_group.status_code == 400


def test_a_path_in_any_script_is_a_scim_error_not_a_crash(client: TestClient) -> None:
    """Anyone may send odd addresses: without a token the answer is 401, with one 404, never a 500."""
    answer = client.get("/scim/v2/Users/\u202egnp.exe")
    assert answer.status_code == 401
    assert answer.json()["status"] == "401"
