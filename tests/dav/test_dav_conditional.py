"""WebDAV `PUT` honours `If-Match` / `If-None-Match` (no lost updates from a drive), and a `Destination`
on another server answers 502 for COPY and MOVE (RFC 4918 §9.8.5, §9.9.4)."""

from collections.abc import Iterator

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture


@pytest.fixture
def dav(live_server: LiveServer, alice: UserFixture) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live_server.url}/dav", auth=(alice.email, alice.token), timeout=30
    ) as client:
        yield client


def test_put_with_a_stale_if_match_is_412_and_keeps_the_newer_bytes(dav: httpx.Client) -> None:
    first = dav.put("/notes.txt", content=b"v1")
    assert first.status_code == 201
    tag = first.headers["etag"]
    assert dav.get("/notes.txt").headers["etag"] == tag
    assert dav.put("/notes.txt", content=b"v2 colleague", headers={"If-Match": tag}).status_code == 204
    stale = dav.put("/notes.txt", content=b"v2 mine", headers={"If-Match": tag})
    assert stale.status_code == 412
    assert dav.get("/notes.txt").content == b"v2 colleague"
    assert dav.put("/missing.txt", content=b"x", headers={"If-Match": "*"}).status_code == 412
    assert dav.get("/missing.txt").status_code == 404


def test_put_with_if_none_match_star_never_replaces(dav: httpx.Client) -> None:
    assert dav.put("/new.txt", content=b"first", headers={"If-None-Match": "*"}).status_code == 201
    assert dav.put("/new.txt", content=b"second", headers={"If-None-Match": "*"}).status_code == 412
    assert dav.get("/new.txt").content == b"first"


def test_copy_and_move_to_another_host_are_502(dav: httpx.Client, live_server: LiveServer) -> None:
    assert dav.put("/a.txt", content=b"a").status_code == 201
    for method in ("COPY", "MOVE"):
        foreign = dav.request(method, "/a.txt", headers={"Destination": "http://elsewhere.example/dav/b.txt"})
        assert foreign.status_code == 502, (method, foreign.status_code)
    assert dav.get("/b.txt").status_code == 404
    assert dav.get("/a.txt").content == b"a"
    # The same server written out in full is still this server.
    local = dav.request("COPY", "/a.txt", headers={"Destination": f"{live_server.url}/dav/b.txt"})
    assert local.status_code == 201


def test_a_proxy_host_still_counts_as_this_server(dav: httpx.Client) -> None:
    assert dav.put("/p.txt", content=b"p").status_code == 201
    behind_proxy = dav.request(
        "MOVE",
        "/p.txt",
        headers={
            "Destination": "https://files.force.example/dav/q.txt",
            "X-Forwarded-Host": "files.force.example",
        },
    )
    assert behind_proxy.status_code == 201
    assert dav.get("/q.txt").content == b"p"
