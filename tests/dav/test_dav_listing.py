"""PROPFIND Depth 1 of a folder that takes several pages: every item once, in order, each with its own
values, dead properties and locks, and nothing a reader may not see (pages are made tiny here)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote, unquote

import httpx
import pytest

from strongroom.runtime import Runtime
from tests.support.live import LiveServer
from tests.support.users import UserFixture, grant_viewer_through_a_group

D = "{DAV:}"
Z = "{urn:example:evidence}"
ALLPROP = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
PROP = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:example:evidence"><D:prop>'
    "<D:resourcetype/><D:getcontentlength/><D:displayname/><D:getetag/><Z:exhibit/></D:prop></D:propfind>"
)
# Files whose names need escaping in XML, in a URL, or in a `%` template; sorted as the listing sorts.
FILES = ["100%.bin", "a&b <c>.txt", "exhibit 1.jpg", "exhibit 2.jpg", "notes.txt", "ünïcode.pdf"]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    from strongroom.dav import reading

    monkeypatch.setattr(reading, "FIRST_PAGE", 2)
    monkeypatch.setattr(reading, "PAGE", 3)


def fill(dav: httpx.Client) -> None:
    assert dav.request("MKCOL", "/Case 9/").status_code == 201
    assert dav.request("MKCOL", "/Case 9/Stills/").status_code == 201
    for name in FILES:
        assert dav.put(f"/Case 9/{quote(name)}", content=name.encode()).status_code == 201


def listing(dav: httpx.Client, body: str) -> dict[str, ET.Element]:
    response = dav.request("PROPFIND", "/Case 9/", headers={"Depth": "1"}, content=body)
    assert response.status_code == 207, response.text
    found = [(r.findtext(f"{D}href") or "", r) for r in ET.fromstring(response.content).iter(f"{D}response")]
    hrefs = [href for href, _ in found]
    assert len(hrefs) == len(set(hrefs)), hrefs
    return dict(found)


def found_props(response: ET.Element) -> ET.Element:
    for propstat in response.iter(f"{D}propstat"):
        if "200" in (propstat.findtext(f"{D}status") or ""):
            prop = propstat.find(f"{D}prop")
            assert prop is not None
            return prop
    raise AssertionError("no 200 propstat")


def test_a_listing_over_several_pages_shows_each_item_once_with_its_own_properties(
    live_server: LiveServer, alice: UserFixture, small_pages: None
) -> None:
    with httpx.Client(base_url=f"{live_server.url}/dav", auth=(alice.email, alice.token), timeout=30) as dav:
        fill(dav)
        patch = (
            '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:evidence">'
            "<D:set><D:prop><Z:exhibit>JB/4 %(href)s {0} 100%</Z:exhibit></D:prop></D:set></D:propertyupdate>"
        )
        # On the last item of the second page (the sub-folder and 100%.bin fill the first): a page's bound.
        assert dav.request("PROPPATCH", "/Case 9/exhibit 2.jpg", content=patch).status_code == 207
        lockinfo = (
            '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
            "<D:locktype><D:write/></D:locktype><D:owner>DC 1234 %s</D:owner></D:lockinfo>"
        )
        lock = dav.request("LOCK", "/Case 9/notes.txt", content=lockinfo, headers={"Timeout": "Second-600"})
        assert lock.status_code == 200, lock.text

        every = listing(dav, ALLPROP)
        expected = ["/dav/Case%209/", "/dav/Case%209/Stills/"] + [f"/dav/Case%209/{quote(n)}" for n in FILES]
        assert list(every) == expected  # the folder, then its folders, then its files by name
        for href, response in list(every.items())[2:]:
            name = unquote(href.rsplit("/", 1)[1])
            props = found_props(response)
            assert props.findtext(f"{D}displayname") == name
            assert props.findtext(f"{D}getcontentlength") == str(len(name.encode()))
            assert props.find(f"{D}resourcetype/{D}collection") is None
            assert (props.findtext(f"{Z}exhibit") == "JB/4 %(href)s {0} 100%") == (name == "exhibit 2.jpg")
            locked = props.find(f"{D}lockdiscovery/{D}activelock")
            assert (locked is not None) == (name == "notes.txt")
            if locked is not None:
                assert "DC 1234 %s" in ET.tostring(locked, encoding="unicode")
                assert locked.findtext(f"{D}lockroot/{D}href") == "/dav/Case%209/notes.txt"
        assert found_props(every["/dav/Case%209/Stills/"]).find(f"{D}resourcetype/{D}collection") is not None

        asked = listing(dav, PROP)
        assert list(asked) == expected
        stills = asked["/dav/Case%209/Stills/"]
        missing = [p for p in stills.iter(f"{D}propstat") if "404" in (p.findtext(f"{D}status") or "")]
        missing_names = [child.tag for child in missing[0].iterfind(f"{D}prop/*")]
        assert missing_names == [f"{D}getcontentlength", f"{Z}exhibit"]
        exhibit = found_props(asked["/dav/Case%209/exhibit%202.jpg"])
        assert exhibit.findtext(f"{Z}exhibit") == "JB/4 %(href)s {0} 100%"
        etags = {found_props(r).findtext(f"{D}getetag") for r in asked.values()}
        assert len(etags) == len(expected)


def test_a_group_member_never_sees_a_secret_item_on_a_later_page(
    live_server: LiveServer, runtime: Runtime, alice: UserFixture, bob: UserFixture, admin: UserFixture,
    small_pages: None,
) -> None:  # fmt: skip
    with httpx.Client(base_url=live_server.url, headers=alice.headers, timeout=30) as api:
        folder = api.post("/api/v1/folders", json={"name": "Case 9", "parent_id": "root"}).json()["id"]
        ids = {}
        for name in FILES:
            ids[name] = api.put(f"/api/v1/folders/{folder}/files/{quote(name)}", content=b"x").json()["id"]
        for name in ("notes.txt", "exhibit 1.jpg"):  # one on a middle page, one on the last
            r = api.put(
                f"/api/v1/items/{ids[name]}/classification",
                json={"classification": "SECRET", "reason": "source"},
            )
            assert r.status_code == 200, r.text
    grant_viewer_through_a_group(runtime, admin=admin, owner=alice, member=bob, item_id=folder)
    shown = [name for name in FILES if name not in {"notes.txt", "exhibit 1.jpg"}]
    with httpx.Client(base_url=f"{live_server.url}/dav", auth=(bob.email, bob.token), timeout=30) as dav:
        for body in (ALLPROP, PROP):
            assert list(listing(dav, body)) == ["/dav/Case%209/"] + [
                f"/dav/Case%209/{quote(n)}" for n in shown
            ]
        assert dav.get("/Case 9/notes.txt", headers={"X-Strongroom-Reason": "curious"}).status_code == 404
    with httpx.Client(base_url=f"{live_server.url}/dav", auth=(alice.email, alice.token), timeout=30) as dav:
        assert list(listing(dav, PROP)) == ["/dav/Case%209/"] + [f"/dav/Case%209/{quote(n)}" for n in FILES]
