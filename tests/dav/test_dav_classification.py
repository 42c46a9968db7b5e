"""Classified material through a mounted drive: a reason is asked for on every read (by header, or after
`#` in the user name for clients that cannot send headers), and what a group may not see is neither
listed nor served."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.live import LiveServer
from tests.support.users import UserFixture, grant_viewer_through_a_group

D = "{DAV:}"


def secret_file(live_server: LiveServer, alice: UserFixture) -> tuple[str, str]:
    with httpx.Client(base_url=live_server.url, headers=alice.headers, timeout=30) as api:
        folder = api.post("/api/v1/folders", json={"name": "Case 77", "parent_id": "root"}).json()["id"]
        api.put(f"/api/v1/folders/{folder}/files/note.txt", content=b"note")
        secret = api.put(f"/api/v1/folders/{folder}/files/source.txt", content=b"source").json()["id"]
        r = api.put(
            f"/api/v1/items/{secret}/classification", json={"classification": "SECRET", "reason": "source"}
        )
        assert r.status_code == 200, r.text
    return folder, secret


def reads(runtime: Runtime) -> list[tuple[str | None, str | None]]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(AuditEvent.item_name, AuditEvent.reason).where(AuditEvent.action == "content.version.read")
        )
        return [(name, reason) for name, reason in rows]


def test_reading_secret_material_over_webdav_needs_a_reason(
    live_server: LiveServer, runtime: Runtime, alice: UserFixture
) -> None:
    secret_file(live_server, alice)
    url = f"{live_server.url}/dav/Case%2077/source.txt"
    with httpx.Client(auth=(alice.email, alice.token), timeout=30) as dav:
        refused = dav.get(url)
        assert refused.status_code == 428
        assert "reason" in refused.text
        assert dav.head(url).status_code == 200  # metadata is not a read of the content
        assert dav.get(url, headers={"X-Strongroom-Reason": "Op%20Trident%20review"}).content == b"source"
    with httpx.Client(auth=(f"{alice.email}#Disclosure schedule check", alice.token), timeout=30) as dav:
        assert dav.get(url).content == b"source"
    with httpx.Client(auth=("#no e-mail, only a reason", alice.token), timeout=30) as dav:
        assert dav.get(url).content == b"source"
    with httpx.Client(auth=("bob@force.police.test#a reason", alice.token), timeout=30) as dav:
        assert dav.get(url).status_code == 401  # the reason does not loosen the user-name check
    assert reads(runtime) == [
        ("source.txt", "Op Trident review"),
        ("source.txt", "Disclosure schedule check"),
        ("source.txt", "no e-mail, only a reason"),
    ]


def test_a_group_grant_does_not_list_or_serve_secret_items_over_webdav(
    live_server: LiveServer, runtime: Runtime, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    folder, _ = secret_file(live_server, alice)
    grant_viewer_through_a_group(runtime, admin=admin, owner=alice, member=bob, item_id=folder)
    with httpx.Client(base_url=f"{live_server.url}/dav", auth=(bob.email, bob.token), timeout=30) as dav:
        listing = dav.request("PROPFIND", "/Case%2077/", headers={"Depth": "1"})
        assert listing.status_code == 207, listing.text
        names = [r.findtext(f"{D}href") for r in ET.fromstring(listing.content).iter(f"{D}response")]
        assert names == ["/dav/Case%2077/", "/dav/Case%2077/note.txt"]
        headers = {"X-Strongroom-Reason": "curious"}
        assert dav.get("/Case%2077/source.txt", headers=headers).status_code == 404
        assert dav.get("/Case%2077/note.txt").content == b"note"
