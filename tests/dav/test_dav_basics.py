"""The WebDAV door through a real socket: what a mounted drive does, and what it must refuse."""

import hashlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.runtime import Runtime
from tests.support.live import LiveServer
from tests.support.users import UserFixture

D = "{DAV:}"


@pytest.fixture
def dav(live_server: LiveServer, alice: UserFixture) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live_server.url}/dav", auth=(alice.email, alice.token), timeout=30
    ) as client:
        yield client


def propfind(client: httpx.Client, path: str, depth: str = "1", body: str | None = None) -> list[ET.Element]:
    response = client.request("PROPFIND", path, headers={"Depth": depth}, content=body)
    assert response.status_code == 207, response.text
    return list(ET.fromstring(response.content).iter(f"{D}response"))


def hrefs(responses: list[ET.Element]) -> list[str]:
    return [r.findtext(f"{D}href") or "" for r in responses]


def test_propfind_root_lists_all_files_with_collections_marked(dav: httpx.Client) -> None:
    assert dav.request("MKCOL", "/Case 42/").status_code == 201
    assert dav.put("/Case 42/statement.txt", content=b"I saw it.").status_code == 201
    responses = propfind(dav, "/")
    assert hrefs(responses) == ["/dav/", "/dav/Case%2042/"]
    inner = propfind(dav, "/Case 42/")
    assert hrefs(inner) == ["/dav/Case%2042/", "/dav/Case%2042/statement.txt"]
    file_props = inner[1]
    assert file_props.findtext(f".//{D}getcontentlength") == "9"
    assert file_props.find(f".//{D}resourcetype/{D}collection") is None
    assert inner[0].find(f".//{D}resourcetype/{D}collection") is not None
    # Depth infinity is refused rather than walking a whole tree.
    deep = dav.request("PROPFIND", "/", headers={"Depth": "infinity"})
    assert deep.status_code == 403
    assert b"propfind-finite-depth" in deep.content


def test_mkcol_rules(dav: httpx.Client) -> None:
    assert dav.request("MKCOL", "/a/").status_code == 201
    assert dav.request("MKCOL", "/a/").status_code == 405
    assert dav.request("MKCOL", "/missing/child/").status_code == 409
    assert dav.request("MKCOL", "/b/", content=b"body", headers={"Content-Type": "x/y"}).status_code == 415
    assert dav.request("MKCOL", "/b/").status_code == 201


def test_put_get_with_range_and_new_versions(dav: httpx.Client) -> None:
    data = os.urandom(300_000)
    assert dav.put("/clip.bin", content=data).status_code == 201
    got = dav.get("/clip.bin")
    assert got.status_code == 200
    assert got.content == data
    part = dav.get("/clip.bin", headers={"Range": "bytes=100000-100099"})
    assert part.status_code == 206
    assert part.content == data[100000:100100]
    assert part.headers["content-range"] == "bytes 100000-100099/300000"
    assert dav.get("/clip.bin", headers={"Range": "bytes=400000-"}).status_code == 416
    # PUT over an existing file stores a new version (204), and GET serves the new bytes.
    assert dav.put("/clip.bin", content=b"v2").status_code == 204
    assert dav.get("/clip.bin").content == b"v2"
    assert dav.put("/nowhere/clip.bin", content=b"x").status_code == 409
    head = dav.head("/clip.bin")
    assert head.status_code == 200
    assert head.headers["content-length"] == "2"


def test_copy_and_move(dav: httpx.Client, live_server: LiveServer) -> None:
    dav.request("MKCOL", "/src/")
    dav.put("/src/a.txt", content=b"alpha")
    dav.request("MKCOL", "/dst/")
    base = f"{live_server.url}/dav"
    assert dav.request("COPY", "/src/", headers={"Destination": f"{base}/dst/copy/"}).status_code == 201
    assert dav.get("/dst/copy/a.txt").content == b"alpha"
    assert (
        dav.request(
            "COPY", "/src/a.txt", headers={"Destination": f"{base}/dst/copy/a.txt", "Overwrite": "F"}
        ).status_code
        == 412
    )
    assert (
        dav.request("MOVE", "/src/a.txt", headers={"Destination": f"{base}/dst/moved.txt"}).status_code == 201
    )
    assert dav.get("/src/a.txt").status_code == 404
    assert dav.get("/dst/moved.txt").content == b"alpha"
    # Overwrite: T replaces the destination (the old one goes to the trash) → 204.
    dav.put("/dst/other.txt", content=b"other")
    assert (
        dav.request("MOVE", "/dst/other.txt", headers={"Destination": f"{base}/dst/moved.txt"}).status_code
        == 204
    )
    assert dav.get("/dst/moved.txt").content == b"other"
    assert (
        dav.request("MOVE", "/dst/", headers={"Destination": "http://elsewhere.test/x/"}).status_code == 502
    )


def test_delete_goes_to_the_trash_and_can_be_restored(
    dav: httpx.Client, live_server: LiveServer, alice: UserFixture
) -> None:
    dav.put("/evidence.txt", content=b"keep me")
    assert dav.delete("/evidence.txt").status_code == 204
    assert dav.get("/evidence.txt").status_code == 404
    assert dav.delete("/evidence.txt").status_code == 404
    with httpx.Client(base_url=f"{live_server.url}/api/v1", headers=alice.headers) as api:
        trash = api.get("/trash").json()
        entries = trash["items"] if isinstance(trash, dict) else trash
        assert [entry["name"] for entry in entries] == ["evidence.txt"]
        assert api.post(f"/trash/{entries[0]['id']}/restore").status_code in {200, 201}
    assert dav.get("/evidence.txt").content == b"keep me"


def test_bob_cannot_reach_alice_files(live_server: LiveServer, dav: httpx.Client, bob: UserFixture) -> None:
    dav.request("MKCOL", "/secret/")
    dav.put("/secret/plan.txt", content=b"alice only")
    with httpx.Client(base_url=f"{live_server.url}/dav", auth=(bob.email, bob.token)) as as_bob:
        assert as_bob.get("/secret/plan.txt").status_code == 404
        assert as_bob.request("PROPFIND", "/secret/", headers={"Depth": "0"}).status_code == 404
        assert hrefs(propfind(as_bob, "/")) == ["/dav/"]
        assert as_bob.delete("/secret/plan.txt").status_code == 404
    assert dav.get("/secret/plan.txt").content == b"alice only"


def test_authentication_is_a_personal_access_token(
    live_server: LiveServer, alice: UserFixture, bob: UserFixture
) -> None:
    url = f"{live_server.url}/dav/"
    missing = httpx.request("PROPFIND", url, headers={"Depth": "0"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Basic realm="Strongroom"')
    assert (
        httpx.request("PROPFIND", url, headers={"Depth": "0"}, auth=(alice.email, "srpat_wrong")).status_code
        == 401
    )
    # The token must belong to the named user; an empty user name is accepted.
    assert (
        httpx.request("PROPFIND", url, headers={"Depth": "0"}, auth=(bob.email, alice.token)).status_code
        == 401
    )
    assert httpx.request("PROPFIND", url, headers={"Depth": "0"}, auth=("", alice.token)).status_code == 207
    options = httpx.request("OPTIONS", url)
    assert options.headers["dav"] == "1, 2"


def test_reads_through_dav_are_audited(dav: httpx.Client, runtime: Runtime, alice: UserFixture) -> None:
    data = b"exhibit A"
    dav.put("/exhibit.txt", content=data)
    dav.get("/exhibit.txt", headers={"User-Agent": "dav-test"})
    dav.head("/exhibit.txt")
    with runtime.sessions() as session:
        reads = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "content.version.read")))
        created = session.scalar(select(AuditEvent).where(AuditEvent.action == "content.file.created"))
    assert len(reads) == 1  # HEAD is metadata, not a read of the content
    assert reads[0].actor_id == alice.id
    assert reads[0].user_agent == "dav-test"
    assert '"via":"dav"' in reads[0].details.replace(" ", "")
    assert hashlib.sha256(data).hexdigest() in reads[0].details
    assert created is not None


def test_locks_block_writes_without_the_token(dav: httpx.Client) -> None:
    dav.put("/locked.txt", content=b"v1")
    body = (
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
        "<D:locktype><D:write/></D:locktype><D:owner>tester</D:owner></D:lockinfo>"
    )
    lock = dav.request("LOCK", "/locked.txt", content=body, headers={"Timeout": "Second-600"})
    assert lock.status_code == 200
    token = lock.headers["lock-token"].strip("<>")
    assert dav.put("/locked.txt", content=b"v2").status_code == 423
    assert dav.delete("/locked.txt").status_code == 423
    assert dav.put("/locked.txt", content=b"v2", headers={"If": f"(<{token}>)"}).status_code == 204
    assert (
        dav.request("UNLOCK", "/locked.txt", headers={"Lock-Token": "<opaquelocktoken:nope>"}).status_code
        == 409
    )
    assert dav.request("UNLOCK", "/locked.txt", headers={"Lock-Token": f"<{token}>"}).status_code == 204
    assert dav.delete("/locked.txt").status_code == 204


def test_bad_xml_is_a_400_not_a_500(dav: httpx.Client) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&b;</D:displayname></D:prop></D:propfind>'
    )
    assert dav.request("PROPFIND", "/", headers={"Depth": "0"}, content=bomb).status_code == 400
    assert dav.request("PROPFIND", "/", headers={"Depth": "0"}, content="<unclosed").status_code == 400
    assert dav.request("PROPPATCH", "/", content="<x/>").status_code == 400
    assert dav.request("LOCK", "/", headers={"If": "(<unterminated"}).status_code == 400


def test_items_shared_with_bob_appear_in_his_root_with_his_role(
    live_server: LiveServer, dav: httpx.Client, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    from strongroom.access.actions import Role
    from strongroom.content.uploads import find_live_child
    from strongroom.db.session import transaction
    from strongroom.identity.models import User
    from strongroom.sharing import collaborations

    dav.request("MKCOL", "/Op Nightjar/")
    dav.put("/Op Nightjar/cctv.txt", content=b"frame 1")
    dav.request("MKCOL", "/private/")
    with transaction(runtime.sessions) as session:
        folder = find_live_child(session, alice.root_id, "Op Nightjar")
        assert folder is not None
        collaborations.grant_role(
            session,
            alice.actor,
            item_id=folder.id,
            role=Role.VIEWER,
            user=session.get(User, bob.id),
            clock=runtime.clock,
        )
    with httpx.Client(base_url=f"{live_server.url}/dav", auth=(bob.email, bob.token)) as as_bob:
        assert hrefs(propfind(as_bob, "/")) == ["/dav/", "/dav/Op%20Nightjar/"]
        assert hrefs(propfind(as_bob, "/Op Nightjar/")) == [
            "/dav/Op%20Nightjar/",
            "/dav/Op%20Nightjar/cctv.txt",
        ]
        assert as_bob.get("/Op Nightjar/cctv.txt").content == b"frame 1"
        # A viewer may read but not change anything.
        assert as_bob.put("/Op Nightjar/cctv.txt", content=b"tampered").status_code == 404
        assert as_bob.delete("/Op Nightjar/cctv.txt").status_code == 404
        assert as_bob.get("/private/").status_code == 404
    assert dav.get("/Op Nightjar/cctv.txt").content == b"frame 1"
