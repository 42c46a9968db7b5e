"""Every door and every maintenance command on each blob store: the local folder, Azure (Azurite) and
S3 (SeaweedFS). What a user sees must not depend on where the sealed bytes live.

The whole suite can also run on an object store (STRONGROOM_TEST_BLOBS=azure or s3); this module runs
one upload and download per door on all three every time.
"""

from __future__ import annotations

import hashlib
import os

import httpx
import obstore
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.cli.test_server_cli import run_cli
from tests.support.live import start_live_server
from tests.support.users import UserFixture

from strongroom.app import create_app
from strongroom.audit.models import AuditEvent
from strongroom.config import Settings
from strongroom.content import scrub
from strongroom.content.pending_blobs import PendingBlobRecorder
from strongroom.runtime import Runtime
from strongroom.storage.blob_backends.objects import ObjectBlobStore

TUS = {"Tus-Resumable": "1.0.0"}
SEG = 64 * 1024  # the test settings' segment size


@pytest.fixture(params=["local", "azure", "s3"])
def blob_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    if request.param == "local":
        return None
    server = request.getfixturevalue({"azure": "azurite", "s3": "seaweedfs"}[request.param])
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    url: str = server.fresh_url()
    return url


@pytest.fixture
def store_name(blob_url: str | None) -> str:
    return "local" if blob_url is None else blob_url.split(":", 1)[0]


def _put(client: TestClient, user: UserFixture, name: str, data: bytes) -> str:
    answer = client.put(f"/api/v1/folders/root/files/{name}", content=data, headers=user.headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest()
    return str(answer.json()["id"])


def test_rest_upload_and_ranged_download(client: TestClient, alice: UserFixture, runtime: Runtime) -> None:
    """12 MiB: more than two 5 MiB parts on an object store; a range that crosses a part boundary."""
    data = os.urandom(12 << 20)
    file_id = _put(client, alice, "bodycam.mp4", data)
    whole = client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).digest() == hashlib.sha256(data).digest()
    start, end = (5 << 20) - 1000, (5 << 20) + 70_000
    ranged = client.get(
        f"/api/v1/files/{file_id}/content", headers={**alice.headers, "Range": f"bytes={start}-{end}"}
    )
    assert ranged.status_code == 206
    assert ranged.content == data[start : end + 1]
    store = runtime.blobs.inner if isinstance(runtime.blobs, PendingBlobRecorder) else runtime.blobs
    assert len(list(store.list_blobs())) == 1


def test_tus_upload_resumed_by_a_second_server(
    settings: Settings, alice: UserFixture, runtime: Runtime
) -> None:
    """Half an upload through one server, the rest through another (a fresh runtime: no state in memory)."""
    data = os.urandom(6 * SEG + 3)
    metadata = "filename Y2xpcC5iaW4=,folder_id cm9vdA=="  # clip.bin, root
    first = start_live_server(create_app(runtime))
    try:
        with httpx.Client(base_url=first.url, timeout=60) as http:
            created = http.post(
                "/api/v1/uploads",
                headers={
                    **alice.headers,
                    **TUS,
                    "Upload-Length": str(len(data)),
                    "Upload-Metadata": metadata,
                },
            )
            assert created.status_code == 201, created.text
            url = created.headers["Location"]
            half = http.patch(
                url,
                content=data[: 3 * SEG + 11],
                headers={**alice.headers, **TUS, "Content-Type": "application/offset+octet-stream",
                         "Upload-Offset": "0"},
            )  # fmt: skip
            assert half.status_code == 204, half.text
    finally:
        first.stop()
    again = Runtime.build(settings)
    second = start_live_server(create_app(again))
    try:
        with httpx.Client(base_url=second.url, timeout=60) as http:
            offset = int(http.head(url, headers={**alice.headers, **TUS}).headers["Upload-Offset"])
            assert offset == 3 * SEG + 11
            rest = http.patch(
                url,
                content=data[offset:],
                headers={**alice.headers, **TUS, "Content-Type": "application/offset+octet-stream",
                         "Upload-Offset": str(offset)},
            )  # fmt: skip
            assert rest.status_code == 204, rest.text
            got = http.get(rest.headers["Location"] + "/content", headers=alice.headers)
            assert got.content == data
    finally:
        second.stop()
        again.close()


def test_webdav_put_and_get(client: TestClient, alice: UserFixture) -> None:
    data = os.urandom(300_000)
    auth = (alice.email, alice.token)
    assert client.request("MKCOL", "/dav/Case 7/", auth=auth).status_code == 201
    assert client.put("/dav/Case 7/interview.wav", content=data, auth=auth).status_code == 201
    got = client.get("/dav/Case 7/interview.wav", auth=auth)
    assert got.status_code == 200
    assert got.content == data
    part = client.get("/dav/Case 7/interview.wav", auth=auth, headers={"Range": "bytes=100000-100099"})
    assert part.content == data[100_000:100_100]


def test_shared_link_download(client: TestClient, alice: UserFixture) -> None:
    data = os.urandom(200_000)
    file_id = _put(client, alice, "statement.pdf", data)
    link = client.post(f"/api/v1/items/{file_id}/shared-links", json={}, headers=alice.headers)
    assert link.status_code == 201, link.text
    token = link.json()["url"].rsplit("/s/", 1)[1]
    with TestClient(client.app) as stranger:  # no session, no token: only the link
        got = stranger.get(f"/s/{token}/content/{file_id}")
        assert got.status_code == 200, got.text
        assert got.content == data


def test_ready_and_doctor_see_the_store(client: TestClient, settings: Settings, store_name: str) -> None:
    assert client.get("/readyz").json()["checks"]["blob_store"] == {"ok": True}
    run_cli(settings, "users", "create", "officer@force.police.test")
    doctor = run_cli(settings, "doctor", check=False)
    line = next(x for x in doctor.stdout.splitlines() if "blob store:" in x)
    assert line.startswith("OK"), doctor.stdout
    if store_name != "local":
        assert settings.blobs.url is not None
        assert settings.blobs.url in line
        assert "blob disk" not in doctor.stdout  # an object store has no local disk to measure


def test_verify_rotation_and_gc_on_the_store(
    client: TestClient, alice: UserFixture, runtime: Runtime, settings: Settings, store_name: str
) -> None:
    data = os.urandom(700_000)
    file_id = _put(client, alice, "exhibit.bin", data)
    assert "checked 1 versions" in run_cli(settings, "verify").stdout
    assert "re-wrapped" in run_cli(settings, "keys", "rotate", "--keep-old").stdout
    assert "0 failed" in run_cli(settings, "verify").stdout
    got = client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers)
    assert got.content == data  # readable under the new key-encryption key

    # An orphan (a blob no version refers to, as a crash leaves) goes; the file's own blob stays.
    store = runtime.blobs.inner if isinstance(runtime.blobs, PendingBlobRecorder) else runtime.blobs
    writer = store.create("f" * 32)
    writer.write(b"orphan")
    writer.complete()
    assert "removed 1 orphan blobs" in run_cli(settings, "gc", "--grace-minutes", "0").stdout
    assert not store.exists("f" * 32)
    assert "0 failed" in run_cli(settings, "verify").stdout

    # Tampering in the store itself is caught by the worker's scrub and by verify.
    (info,) = store.list_blobs()
    _tamper(store, info.key, store_name)
    report = scrub.scrub_step(
        runtime.sessions, runtime.blobs, runtime.keys, clock=runtime.clock,
        bytes_per_second=1 << 40, bytes_per_run=1 << 40,
    )  # fmt: skip
    assert len(report.failures) == 1
    with runtime.engine.connect() as connection:
        tampered = connection.execute(
            select(AuditEvent.seq).where(AuditEvent.action == "storage.blob.tampered")
        ).all()  # fmt: skip
    assert len(tampered) == 1
    result = run_cli(settings, "verify", check=False)
    assert result.returncode == 1
    assert "1 failed" in result.stdout


def _tamper(store: object, key: str, store_name: str) -> None:
    """Flip one byte in the middle of a stored blob, behind Strongroom's back."""
    if store_name == "local":
        path = store.root / key[:2] / key[2:4] / key  # type: ignore[attr-defined]
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 1
        path.write_bytes(bytes(raw))
        return
    assert isinstance(store, ObjectBlobStore)
    path = f"{store.prefix}blobs/{key}"
    raw = bytearray(bytes(obstore.get(store.objects, path).bytes()))
    raw[len(raw) // 2] ^= 1
    obstore.put(store.objects, path, bytes(raw))


@pytest.fixture
def unreachable(settings: Settings, store_name: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    if store_name == "local":
        pytest.skip("the local folder's outages are tested in tests/test_readiness.py")
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    if store_name == "s3":
        monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    else:
        monkeypatch.setenv(
            "AZURE_STORAGE_CONNECTION_STRING",
            os.environ["AZURE_STORAGE_CONNECTION_STRING"].replace(
                os.environ["AZURE_STORAGE_CONNECTION_STRING"].split("BlobEndpoint=")[1].split(";")[0],
                f"{dead}/devstoreaccount1",
            ),
        )
    return settings


def test_an_unreachable_store_is_not_ready_and_uploads_get_503(
    unreachable: Settings, alice: UserFixture
) -> None:
    runtime = Runtime.build(unreachable)
    try:
        with TestClient(create_app(runtime)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["blob_store"]["ok"] is False
            put = client.put("/api/v1/folders/root/files/x.bin", content=b"abc", headers=alice.headers)
            assert put.status_code == 503, put.text
            assert put.json()["code"] == "unavailable"
    finally:
        runtime.close()
