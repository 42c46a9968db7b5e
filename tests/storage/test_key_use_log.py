"""The key-use log: every unwrap of a data key is counted (cached or not), written in batches, and
exported joined to the file it protects; the unwrap cache forgets keys after its lifetime."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.cli.test_server_cli import run_cli
from tests.support.users import UserFixture

from strongroom.config import Settings
from strongroom.runtime import Runtime
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.key_providers.unwrap_cache import KeyUse, UnwrapCache
from strongroom.storage.keys import KeyProviderUnavailable, new_data_key


def test_reads_are_logged_per_data_key_and_exported_with_their_file(
    client: TestClient, runtime: Runtime, settings: Settings, alice: UserFixture
) -> None:
    put = client.put("/api/v1/folders/root/files/999-call.wav", content=b"RIFF" * 5000, headers=alice.headers)
    file_id = put.json()["id"]
    for _ in range(3):
        assert client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers).status_code == 200
    runtime.key_uses.flush()
    lines = [json.loads(line) for line in run_cli(settings, "keys", "usage").stdout.splitlines()]
    mine = [line for line in lines if line["item_id"] == file_id]
    assert mine, lines
    assert sum(line["unwraps"] + line["cached_uses"] for line in mine) >= 3
    assert all(line["kek_id"] == runtime.keys.current_kek_id() for line in mine)
    assert {line["what"] for line in mine} == {"version"}


def test_the_cache_bounds_how_long_a_withdrawn_key_file_keeps_working(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    now = [0.0]
    uses: list[KeyUse] = []
    cache = UnwrapCache(
        FileKeyProvider.open(key_file), seconds=30, on_unwrap=uses.append, monotonic=lambda: now[0]
    )
    dek = new_data_key()
    wrapped = cache.wrap_data_key(dek, context=b"blob")
    assert cache.unwrap_data_key(wrapped, context=b"blob") == dek
    key_file.rename(tmp_path / "escrow.json")  # the force withdraws its key
    now[0] = 29.0
    assert cache.unwrap_data_key(wrapped, context=b"blob") == dek  # within the cache lifetime
    assert [u.cached for u in uses] == [False, True]
    now[0] = 30.5
    with pytest.raises(KeyProviderUnavailable):
        cache.unwrap_data_key(wrapped, context=b"blob")
    (tmp_path / "escrow.json").rename(key_file)  # restored
    assert cache.unwrap_data_key(wrapped, context=b"blob") == dek
