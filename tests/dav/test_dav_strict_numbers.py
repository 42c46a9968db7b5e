"""WebDAV numbers (Range, Timeout) parsed strictly: a bad value is 416 or ignored as RFC 4918 allows,
never a 500. See tests/api/test_strict_numbers.py for why raw bytes are sent."""

from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_strict_numbers import BAD_HEADER_NUMBERS
from tests.support.live import LiveServer
from tests.support.users import UserFixture


@pytest.fixture
def dav(live_server: LiveServer, alice: UserFixture) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live_server.url}/dav", auth=(alice.email, alice.token), timeout=30
    ) as client:
        yield client


LOCK_BODY = (
    '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    "<D:locktype><D:write/></D:locktype></D:lockinfo>"
)


@pytest.mark.parametrize("bad", BAD_HEADER_NUMBERS)
def test_webdav_range_timeout_and_content_length_never_crash(dav: httpx.Client, bad: bytes) -> None:
    assert dav.put("/n.txt", content=b"0123456789").status_code == 201
    got = dav.get("/n.txt", headers=[(b"Range", b"bytes=" + bad + b"-5")])
    assert got.status_code == 416 if bad else got.status_code == 206, got.status_code
    # An unusable Timeout is ignored (RFC 4918 10.7 lets the server choose): the lock gets the default.
    lock = dav.request("LOCK", "/n.txt", content=LOCK_BODY, headers=[(b"Timeout", b"Second-" + bad)])
    assert lock.status_code == 200, lock.text
    assert "Second-" in lock.text
    token = lock.headers["lock-token"]
    assert dav.request("UNLOCK", "/n.txt", headers={"Lock-Token": token}).status_code == 204
