"""FileKeyProvider: wrapping, rotation, retirement and the key file on disk."""

import json
import stat
from pathlib import Path

import pytest

from strongroom.errors import Conflict, NotFound, Unavailable
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import KeyProvider, KeyUnavailable, WrappedKey, new_data_key


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "secrets" / "keys.json"


@pytest.fixture
def provider(key_file: Path) -> FileKeyProvider:
    return FileKeyProvider.open(key_file)


def test_is_a_key_provider(provider: FileKeyProvider) -> None:
    as_protocol: KeyProvider = provider
    assert as_protocol.kek_ids() == [provider.current_kek_id()]


def test_wrap_unwrap(provider: FileKeyProvider) -> None:
    dek = new_data_key()
    wrapped = provider.wrap_data_key(dek, context=b"blob-1")
    assert wrapped.kek_id == provider.current_kek_id()
    assert dek not in wrapped.ciphertext
    assert len(wrapped.ciphertext) == 12 + 32 + 16
    assert provider.unwrap_data_key(wrapped, context=b"blob-1") == dek


def test_new_data_keys_differ() -> None:
    assert len(new_data_key()) == 32
    assert new_data_key() != new_data_key()


def test_wrong_context_fails(provider: FileKeyProvider) -> None:
    wrapped = provider.wrap_data_key(new_data_key(), context=b"blob-1")
    with pytest.raises(KeyUnavailable, match="another blob"):
        provider.unwrap_data_key(wrapped, context=b"blob-2")


def test_tampered_wrapping_fails(provider: FileKeyProvider) -> None:
    wrapped = provider.wrap_data_key(new_data_key(), context=b"blob-1")
    bad = bytearray(wrapped.ciphertext)
    bad[-1] ^= 1
    with pytest.raises(KeyUnavailable):
        provider.unwrap_data_key(WrappedKey(kek_id=wrapped.kek_id, ciphertext=bytes(bad)), context=b"blob-1")


def test_key_unavailable_is_unavailable() -> None:
    assert issubclass(KeyUnavailable, Unavailable)


def test_rotation_then_retirement(provider: FileKeyProvider) -> None:
    dek = new_data_key()
    old_id = provider.current_kek_id()
    old_wrapped = provider.wrap_data_key(dek, context=b"blob-1")

    new_id = provider.add_kek()
    assert new_id != old_id
    assert new_id.startswith("kek-")
    assert len(new_id) == 4 + 12
    assert provider.current_kek_id() == new_id
    assert provider.kek_ids() == [old_id, new_id]
    assert provider.unwrap_data_key(old_wrapped, context=b"blob-1") == dek

    rewrapped = provider.wrap_data_key(
        provider.unwrap_data_key(old_wrapped, context=b"blob-1"), context=b"blob-1"
    )
    assert rewrapped.kek_id == new_id
    provider.retire_kek(old_id)
    assert provider.kek_ids() == [new_id]
    with pytest.raises(KeyUnavailable, match=old_id):
        provider.unwrap_data_key(old_wrapped, context=b"blob-1")
    assert provider.unwrap_data_key(rewrapped, context=b"blob-1") == dek


def test_retiring_the_current_kek_is_refused(provider: FileKeyProvider) -> None:
    with pytest.raises(Conflict):
        provider.retire_kek(provider.current_kek_id())
    with pytest.raises(NotFound):
        provider.retire_kek("kek-000000000000")


def test_key_file_is_0600_and_well_formed(provider: FileKeyProvider, key_file: Path) -> None:
    old = provider.current_kek_id()
    provider.add_kek()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    doc = json.loads(key_file.read_text())
    assert doc["format"] == 2
    assert doc["generation"] == 2
    assert doc["current"] == provider.current_kek_id()
    assert [k["id"] for k in doc["keks"]] == provider.kek_ids()
    assert all(k["created_at"].endswith("+00:00") for k in doc["keks"])
    assert [k["id"] for k in doc["keks"] if "superseded_at" in k] == [old]
    assert "audit_signing_key" not in doc  # the signing key lives in its own file
    # no temp files left; the lock file that writers share stays
    assert sorted(p.name for p in key_file.parent.iterdir()) == [".keys.json.lock", "keys.json"]
    assert stat.S_IMODE((key_file.parent / ".keys.json.lock").stat().st_mode) == 0o600


def test_a_retired_key_is_named_as_retired(provider: FileKeyProvider) -> None:
    old = provider.current_kek_id()
    wrapped = provider.wrap_data_key(b"\x01" * 32, context=b"a")
    provider.add_kek()
    provider.retire_kek(old)
    with pytest.raises(KeyUnavailable, match="was retired on"):
        provider.unwrap_data_key(wrapped, context=b"a")
    assert [k.current for k in provider.keks()] == [True]


def test_reopen_from_disk_gives_the_same_keys(provider: FileKeyProvider, key_file: Path) -> None:
    first = provider.current_kek_id()
    wrapped_first = provider.wrap_data_key(b"\x01" * 32, context=b"a")
    provider.add_kek()
    wrapped_second = provider.wrap_data_key(b"\x02" * 32, context=b"b")

    again = FileKeyProvider.open(key_file, create=False)
    assert again.kek_ids() == provider.kek_ids()
    assert again.current_kek_id() == provider.current_kek_id() != first
    assert again.unwrap_data_key(wrapped_first, context=b"a") == b"\x01" * 32
    assert again.unwrap_data_key(wrapped_second, context=b"b") == b"\x02" * 32


def test_open_missing_without_create_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="does not exist"):
        FileKeyProvider.open(tmp_path / "nope.json", create=False)


def test_malformed_key_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"format": 1, "current": "kek-x"}')
    with pytest.raises(KeyUnavailable, match="malformed"):
        FileKeyProvider.open(path)
