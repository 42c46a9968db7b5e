"""`strongroom backup` of a running server and `strongroom restore` into a fresh data dir.

After the restore, `strongroom verify` and `strongroom audit verify` (with the public key kept from
before) are clean and every file downloads byte-identical.
"""

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from strongroom.config import Settings
from strongroom.storage.blob_backends.local import BACKUP_HOLD, LocalBlobStore, deletions_held_during
from tests.cli.test_server_cli import STRONGROOM, run_cli, start_server, stop

pytestmark = pytest.mark.skipif(
    os.environ.get("STRONGROOM_TEST_DB", "sqlite") != "sqlite",
    reason="backup/restore copy the embedded SQLite database; PostgreSQL uses pg_dump (docs/ops/backup.md)",
)


PUBLIC_URL = "https://evidence.force.police.test"
"""One name for the log before and after the restore, whichever port the test servers listen on."""


def _restored_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    return env | {
        "STRONGROOM_DEV_MODE": "1",
        "STRONGROOM_SERVER__PUBLIC_URL": PUBLIC_URL,
        "STRONGROOM_DATA_DIR": str(data_dir),
        "STRONGROOM_LIMITS__SEGMENT_BYTES": str(64 * 1024),
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STRONGROOM, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_backup_of_a_running_server_restores_verifiable(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRONGROOM_SERVER__PUBLIC_URL", PUBLIC_URL)
    token = run_cli(settings, "users", "create", "officer@force.police.test", "--token").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    files = {f"exhibit-{n}.bin": os.urandom(150_000 + n) for n in range(3)}
    ids: dict[str, str] = {}
    proc, url = start_server(settings)
    try:
        for name, body in files.items():
            put = httpx.put(f"{url}/api/v1/folders/root/files/{name}", content=body, headers=headers)
            assert put.status_code == 201, put.text
            ids[name] = put.json()["id"]
        read = httpx.get(f"{url}/api/v1/files/{ids['exhibit-0.bin']}/content", headers=headers)
        assert read.content == files["exhibit-0.bin"]  # an audited read, in the trail being backed up
        run_cli(settings, "audit", "checkpoint")
        public_key = run_cli(settings, "audit", "public-key").stdout.split()[0]
        backup = run_cli(settings, "backup", str(tmp_path / "backup"))  # while the server runs
    finally:
        stop(proc)
    assert "escrow" in backup.stdout
    assert sorted(p.name for p in (tmp_path / "backup" / "keys").iterdir()) == [
        "audit-signing-key.json",
        "keys.json",
        "secret_key",
    ]
    assert not (settings.blob_path / BACKUP_HOLD).exists()  # deletions resume once the copy is done

    restored = tmp_path / "restored"
    assert (
        _cli(
            _restored_env(restored), "restore", str(tmp_path / "backup"), "--data-dir", str(restored)
        ).returncode
        == 0
    )
    env = _restored_env(restored)
    checked = _cli(env, "verify")
    assert checked.stdout.strip() == "checked 3 versions and 0 renditions, 0 failed", checked.stderr
    export = tmp_path / "audit.jsonl"
    assert _cli(env, "audit", "export", "--out", str(export), "--reason", "restore drill").returncode == 0
    proof = _cli(env, "audit", "verify", str(export), "--public-key", public_key)
    assert proof.returncode == 0, proof.stdout + proof.stderr

    proc, url = start_server(Settings(dev_mode=True, data_dir=restored))
    try:
        for name, body in files.items():
            got = httpx.get(f"{url}/api/v1/files/{ids[name]}/content", headers=headers)
            assert got.status_code == 200
            assert got.content == body
    finally:
        stop(proc)


def test_backup_refuses_a_folder_in_use_and_restore_without_keys(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    run_cli(settings, "users", "create", "officer@force.police.test")  # a first use makes the keys
    refused = run_cli(settings, "backup", str(tmp_path / "used"), check=False)
    assert refused.returncode == 2
    assert "not empty" in refused.stderr
    run_cli(settings, "backup", str(tmp_path / "backup"))
    (tmp_path / "backup" / "keys" / "keys.json").unlink()  # escrowed elsewhere, not given
    restore = _cli(
        _restored_env(tmp_path / "r"), "restore", str(tmp_path / "backup"), "--data-dir", str(tmp_path / "r")
    )
    assert restore.returncode == 2
    assert "--keys" in restore.stderr
    assert "Traceback" not in restore.stderr


def test_no_blob_is_deleted_while_a_backup_holds_the_store(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = "ab" * 16
    writer = store.create(key)
    writer.write(b"evidence")
    writer.complete()
    with deletions_held_during(tmp_path / "blobs"):
        store.delete(key)  # a purge committed after the snapshot: its blob must stay for the copy
        assert store.exists(key)
    store.delete(key)
    assert not store.exists(key)
