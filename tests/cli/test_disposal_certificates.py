"""Disposal you can prove: purging destroys the versions' data keys and blobs, keeps their SHA-256,
and yields signed certificates that `strongroom audit verify` checks offline (and against the log)."""

import hashlib
import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.config import Settings
from strongroom.content.models import FileVersion
from strongroom.runtime import Runtime
from tests.cli.test_server_cli import run_cli
from tests.support.users import UserFixture


def _purged_file(client: TestClient, user: UserFixture, contents: list[bytes]) -> str:
    file_id = ""
    for data in contents:
        put = client.put("/api/v1/folders/root/files/MG11.docx", content=data, headers=user.headers)
        assert put.status_code in {200, 201}, put.text
        file_id = put.json()["id"]
    assert client.delete(f"/api/v1/files/{file_id}", headers=user.headers).status_code == 200
    purge = client.delete(
        f"/api/v1/trash/{file_id}",
        params={"reason": "Case NFA; retention review 2026/14"},
        headers=user.headers,
    )
    assert purge.status_code == 204, purge.text
    return file_id


def test_purge_destroys_keys_and_blobs_and_certifies_each_version(
    client: TestClient,
    runtime: Runtime,
    settings: Settings,
    alice: UserFixture,
    admin: UserFixture,
    tmp_path: Path,
) -> None:
    contents = [b"first statement " * 1000, b"second statement " * 1000]
    blobs_before = {p for p in settings.blob_path.rglob("*") if p.is_file()}
    file_id = _purged_file(client, alice, contents)

    with runtime.sessions() as session:
        assert session.scalars(select(FileVersion).where(FileVersion.file_id == file_id)).all() == []
    assert {p for p in settings.blob_path.rglob("*") if p.is_file()} <= blobs_before  # the blobs are gone

    assert client.get("/api/v1/disposals", headers=alice.headers).status_code == 404  # administrators only
    listed = client.get("/api/v1/disposals", params={"item_id": file_id}, headers=admin.headers).json()
    certificates = sorted((d["certificate"] for d in listed), key=lambda c: c["version"]["number"])
    assert [c["version"]["sha256"] for c in certificates] == [hashlib.sha256(c).hexdigest() for c in contents]
    for certificate in certificates:
        assert certificate["reason"] == "Case NFA; retention review 2026/14"
        assert certificate["disposed_by"] == alice.email
        assert certificate["data_key"] == "destroyed"
        assert certificate["blob"] == "removed"

    key = run_cli(settings, "audit", "public-key").stdout.split()[0]
    out = tmp_path / "certs"
    assert (
        "wrote 2 disposal certificates" in run_cli(settings, "audit", "disposals", "--out", str(out)).stdout
    )
    cert_file = min(out.glob("*.json"))

    held = run_cli(settings, "audit", "verify", str(cert_file), "--public-key", key, check=False)
    assert held.returncode == 0, held.stdout + held.stderr
    assert "OK: disposal certificate verified" in held.stdout
    assert run_cli(settings, "audit", "verify", str(cert_file), check=False).returncode == 3  # no held key

    run_cli(settings, "audit", "checkpoint")
    log = tmp_path / "log.jsonl"
    run_cli(settings, "audit", "export", "--out", str(log), "--reason", "disposal check")
    against_log = run_cli(
        settings, "audit", "verify", str(cert_file), "--public-key", key, "--log", str(log), check=False
    )
    assert against_log.returncode == 0, against_log.stdout
    assert "is in the signed log" in against_log.stdout

    forged = json.loads(cert_file.read_text(encoding="utf-8"))
    forged["version"]["sha256"] = "0" * 64  # claim another file was disposed of
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps(forged, indent=2), encoding="utf-8")
    refused = run_cli(settings, "audit", "verify", str(forged_file), "--public-key", key, check=False)
    assert refused.returncode == 1
    assert "TAMPERED: the signature does not match" in refused.stdout
