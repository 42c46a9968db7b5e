"""The official Python tus client (tuspy) uploads in chunks, is cut off, and a new uploader resumes."""

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture

pytestmark = [
    pytest.mark.interop,
    # tuspy 1.1 opens the file afresh for every chunk and never closes it (its file_stream option
    # closes the caller's stream instead, when store_url is set): its leak, not ours.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

try:
    from tusclient import client as tus_client
    from tusclient.storage import filestorage
except ImportError:  # pragma: no cover - reported as a failure below
    tus_client = None  # type: ignore[assignment]  # the test fails with the install step


def test_tuspy_interrupted_and_resumed_matches_a_plain_put(
    live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    if tus_client is None:
        pytest.fail("tuspy is not installed: pip install tuspy")
    source = tmp_path / "cctv.mp4"
    data = os.urandom(3 * 1024 * 1024 + 12345)
    source.write_bytes(data)
    storage = filestorage.FileStorage(str(tmp_path / "tus-urls.json"))  # type: ignore[no-untyped-call]  # tuspy
    metadata = {"filename": "cctv.mp4", "folder_id": "root"}

    client = tus_client.TusClient(f"{live_server.url}/api/v1/uploads", headers=alice.headers)
    first = client.uploader(
        str(source),
        chunk_size=700_000,
        metadata=metadata,
        store_url=True,
        url_storage=storage,
        upload_checksum=True,
    )
    first.upload(stop_at=1_500_000)  # the "interruption": stops after a few chunks
    assert 1_500_000 <= first.offset < len(data)
    url = first.url
    storage.close()  # type: ignore[no-untyped-call]  # tuspy has no annotations here

    # A new process would start from nothing but the stored URL.
    storage = filestorage.FileStorage(str(tmp_path / "tus-urls.json"))  # type: ignore[no-untyped-call]  # tuspy
    second = tus_client.TusClient(f"{live_server.url}/api/v1/uploads", headers=alice.headers).uploader(
        str(source),
        chunk_size=1_000_000,
        metadata=metadata,
        store_url=True,
        url_storage=storage,
    )
    assert second.url == url
    assert second.offset == first.offset
    second.upload()
    storage.close()  # type: ignore[no-untyped-call]  # tuspy has no annotations here

    with httpx.Client(base_url=live_server.url, headers=alice.headers, timeout=30) as http:
        plain = http.put("/api/v1/folders/root/files/plain.mp4", content=data)
        assert plain.status_code == 201
        items = {i["name"]: i for i in http.get("/api/v1/folders/root/items").json()["items"]}
        assert items["cctv.mp4"]["sha256"] == plain.json()["sha256"] == hashlib.sha256(data).hexdigest()
        assert items["cctv.mp4"]["size"] == len(data)
        assert http.get(f"/api/v1/files/{items['cctv.mp4']['id']}/content").content == data
