"""The audit signing key in its own file: signing, rotation with history, and the move out of keys.json."""

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.audit import checkpoints
from strongroom.config import Settings
from strongroom.runtime import Runtime
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.key_providers.signing_file import FileAuditSigningKey, public_bytes
from strongroom.storage.keys import KeyUnavailable
from strongroom.storage.signing_keys import AuditSigningKey, earlier_public_keys


def test_signature_verifies_and_keys_differ_per_file(tmp_path: Path) -> None:
    key: AuditSigningKey = FileAuditSigningKey.open(tmp_path / "audit-signing-key.json")
    public = key.public_key()
    assert len(public) == 32
    signature = key.sign(b"checkpoint 42")
    verifier = Ed25519PublicKey.from_public_bytes(public)
    verifier.verify(signature, b"checkpoint 42")  # raises if bad
    with pytest.raises(InvalidSignature):
        verifier.verify(signature, b"checkpoint 43")
    assert FileAuditSigningKey.open(tmp_path / "other.json").public_key() != public
    assert stat.S_IMODE((tmp_path / "audit-signing-key.json").stat().st_mode) == 0o600


def test_rotation_keeps_the_old_public_key_and_destroys_the_old_private_key(tmp_path: Path) -> None:
    path = tmp_path / "audit-signing-key.json"
    key, other_process = FileAuditSigningKey.open(path), FileAuditSigningKey.open(path)
    old = key.public_key()
    new = Ed25519PrivateKey.generate()
    info = key.rotate(new.private_bytes_raw())
    assert info.public_key == public_bytes(new) == key.public_key()
    assert other_process.public_key() == info.public_key  # another process sees the new generation
    Ed25519PublicKey.from_public_bytes(info.public_key).verify(other_process.sign(b"m"), b"m")
    assert [i.public_key for i in key.history()] == [old, info.public_key]
    assert earlier_public_keys(key) == [old]
    assert key.history()[0].retired_at is not None
    doc = json.loads(path.read_text())
    assert ["private_key" in entry for entry in doc["keys"]] == [False, True]


def test_open_missing_without_create_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="does not exist"):
        FileAuditSigningKey.open(tmp_path / "nope.json", create=False)


def _wave1_key_file(path: Path) -> Ed25519PrivateKey:
    """A key file as wave 1 wrote it: the audit signing key beside the KEKs."""
    FileKeyProvider.open(path)
    doc = json.loads(path.read_text())
    signing = Ed25519PrivateKey.generate()
    doc = {
        "format": 1,
        "current": doc["current"],
        "keks": [{k: v for k, v in kek.items() if k in {"id", "created_at", "key"}} for kek in doc["keks"]],
        "audit_signing_key": base64.b64encode(signing.private_bytes_raw()).decode(),
    }
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    return signing


def test_an_old_data_dir_moves_its_signing_key_out_of_the_key_file(settings: Settings) -> None:
    old_signing = _wave1_key_file(settings.key_file)
    kek_before = json.loads(settings.key_file.read_text())["current"]

    runtime = Runtime.build(settings)
    try:
        assert runtime.audit_key.public_key() == public_bytes(old_signing)  # same key, new home
        assert runtime.keys.current_kek_id() == kek_before
    finally:
        runtime.close()
    doc = json.loads(settings.key_file.read_text())
    assert "audit_signing_key" not in doc  # whoever reads the data keys no longer reads the signing key
    assert settings.signing_key_file.exists()
    assert stat.S_IMODE(settings.signing_key_file.stat().st_mode) == 0o600

    again = Runtime.build(settings)  # a second start changes nothing
    try:
        assert again.audit_key.public_key() == public_bytes(old_signing)
    finally:
        again.close()


def test_a_key_file_signing_key_unknown_to_the_signing_file_stays_trusted(settings: Settings) -> None:
    old_signing = _wave1_key_file(settings.key_file)
    existing = FileAuditSigningKey.open(settings.signing_key_file)  # e.g. restored from another backup

    runtime = Runtime.build(settings)
    try:
        assert runtime.audit_key.public_key() == existing.public_key()
        assert public_bytes(old_signing) in earlier_public_keys(runtime.audit_key)
        assert "audit_signing_key" not in json.loads(settings.key_file.read_text())
    finally:
        runtime.close()


def test_checkpoint_ids_match_the_history(tmp_path: Path) -> None:
    key = FileAuditSigningKey.open(tmp_path / "k.json")
    assert key.history()[-1].key_id == checkpoints.key_id(key.public_key())
