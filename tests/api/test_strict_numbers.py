"""Numbers in headers, query parameters and paging markers: anything but plain ASCII digits is a clear
4xx with a stable code, on every door — never a 500.

`"²".isdigit()` is true while `int("²")` fails, so a lenient check let such values through to a crash.
Header values travel as Latin-1 on the wire, where byte 0xB2 *is* "²": the tests send raw bytes so the
server sees exactly what a hostile client can make it see.
"""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from strongroom.db.session import transaction
from strongroom.errors import InputError
from strongroom.numbers import parse_count
from strongroom.runtime import Runtime
from strongroom.web.pages import listing
from tests.support.users import UserFixture

RawHeaders = list[tuple[bytes, bytes]]
SUPERSCRIPT_TWO = b"\xb2"  # "²" once decoded as Latin-1, as every ASGI server does
BAD_HEADER_NUMBERS: list[bytes] = [
    SUPERSCRIPT_TWO,
    "١٢".encode(),
    b"+5",
    b" 5 5",
    b"5 5",
    b"9" * 40,
    b"-1",
    b"0x10",
    b"5_0",
    b"",
]
BAD_QUERY_NUMBERS = ["²", "١٢", "+5", " 5", "5 ", "9" * 40, "-1", "", "5_0"]


def raw(user: UserFixture, *extra: tuple[str, str | bytes]) -> RawHeaders:
    pairs = [*user.headers.items(), *extra]
    return [(name.encode(), value if isinstance(value, bytes) else value.encode()) for name, value in pairs]


def test_the_one_parser_takes_only_ascii_digits() -> None:
    assert parse_count("0") == 0
    assert parse_count("9223372036854775807") == 2**63 - 1
    for bad in ["²", "١٢", "+5", " 5", "5 ", "9" * 20, "9223372036854775808", "-1", "", "5_0", None]:
        assert parse_count(bad) is None, bad


@pytest.fixture
def file_id(client: TestClient, alice: UserFixture) -> str:
    put = client.put("/api/v1/folders/root/files/n.bin", content=b"0123456789", headers=alice.headers)
    assert put.status_code == 201
    return str(put.json()["id"])


@pytest.mark.parametrize("bad", BAD_HEADER_NUMBERS)
def test_rest_range_with_a_bad_number_is_416_json(
    client: TestClient, alice: UserFixture, file_id: str, bad: bytes
) -> None:
    for header in [b"bytes=" + bad + b"-5", b"bytes=0-" + bad, b"bytes=-" + bad]:
        if header.strip() in {b"bytes=-5", b"bytes=0-", b"bytes=-"} and not bad:
            continue
        got = client.get(f"/api/v1/files/{file_id}/content", headers=raw(alice, ("Range", header)))
        assert got.status_code == 416, (header, got.status_code)
        assert got.json()["code"] == "range_not_satisfiable"
        assert got.headers["content-range"] == "bytes */10"


def test_rest_range_still_works(client: TestClient, alice: UserFixture, file_id: str) -> None:
    got = client.get(f"/api/v1/files/{file_id}/content", headers={**alice.headers, "Range": "bytes=2-4"})
    assert (got.status_code, got.content) == (206, b"234")


@pytest.mark.parametrize("bad", BAD_HEADER_NUMBERS)
def test_tus_upload_length_and_offset_with_a_bad_number_are_400_json(
    client: TestClient, alice: UserFixture, bad: bytes
) -> None:
    meta = f"filename {base64.b64encode(b'clip.bin').decode()}"
    tus: list[tuple[str, str | bytes]] = [("Tus-Resumable", "1.0.0"), ("Upload-Metadata", meta)]
    created = client.post("/api/v1/uploads", headers=raw(alice, *tus, ("Upload-Length", bad)))
    assert created.status_code == 400, created.text
    assert created.json()["code"] == "bad_input"
    assert created.json()["details"] == {"field": "Upload-Length"}
    good = client.post("/api/v1/uploads", headers=raw(alice, *tus, ("Upload-Length", "4")))
    assert good.status_code == 201
    patched = client.patch(
        good.headers["location"],
        content=b"abcd",
        headers=raw(alice, *tus, ("Content-Type", "application/offset+octet-stream"), ("Upload-Offset", bad)),
    )
    assert patched.status_code == 400
    assert patched.json()["details"] == {"field": "Upload-Offset"}


@pytest.mark.parametrize("bad", BAD_QUERY_NUMBERS)
def test_paging_and_audit_numbers_in_the_query_are_400_json(
    client: TestClient, admin: UserFixture, bad: str
) -> None:
    urls = [
        ("/api/v1/folders/root/items", {"limit": bad}),
        ("/api/v1/audit/events", {"marker": bad}),
        ("/api/v1/audit/events", {"limit": bad}),
        ("/api/v1/audit/checkpoints", {"marker": bad}),
        ("/api/v1/audit/export", {"after_seq": bad}),
        ("/api/v1/audit/proofs/inclusion", {"seq": bad, "tree_size": "1"}),
        ("/api/v1/audit/proofs/consistency", {"first": bad, "second": "2"}),
    ]
    # Reading the audit asks for a reason; give one, so the number is what is judged.
    headers = {**admin.headers, "X-Strongroom-Reason": "checking the API refuses bad numbers"}
    for url, params in urls:
        got = client.get(url, params=params, headers=headers)
        assert got.status_code == 400, (url, params, got.status_code, got.text)
        assert got.json()["code"] == "bad_input"


def forged_marker(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_a_forged_folder_marker_with_a_huge_number_is_400(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    for marker in [forged_marker([10**30, "a", "b"]), "²", "not-a-marker"]:
        got = client.get("/api/v1/folders/root/items", params={"marker": marker}, headers=alice.headers)
        assert got.status_code == 400, (marker, got.text)
        assert got.json()["details"]["field"] == "marker"
    # The staff pages' own listing (other sort orders) reads its markers with the same care.
    with transaction(runtime.sessions) as session, pytest.raises(InputError):
        listing.list_folder(
            session,
            alice.actor,
            folder_id=alice.root_id,
            sort=listing.SortKey.SIZE,
            descending=False,
            limit=10,
            marker=forged_marker([0, 10**30, "x"]),
        )


@pytest.mark.parametrize("bad", BAD_HEADER_NUMBERS)
def test_upload_request_chunk_offset_with_a_bad_number_is_400(
    client: TestClient, alice: UserFixture, bad: bytes
) -> None:
    # A real upload link: a token that opens none is answered 404 (and counted as a guess) first.
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "CCTV"}, headers=alice.headers
    )
    token = created.json()["url"].rsplit("/r/", 1)[1]
    got = client.patch(
        f"/r/{token}/api/submissions/sub/files/fi", content=b"x", headers=[(b"Upload-Offset", bad)]
    )
    assert got.status_code == 400, (bad, got.status_code, got.text)
    assert got.json()["code"] == "bad_input"
