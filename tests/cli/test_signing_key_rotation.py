"""`strongroom keys signing rotate`: the audit signing key rotates on its own, apart from the data keys.

Checkpoints go on being made after the rotation, the old key's last checkpoint covers the event that
names the new key, and every checkpoint signed before stays verifiable with the old public key.
"""

import json
from pathlib import Path
from typing import Any

from strongroom.audit.checkpoints import signature_valid
from strongroom.config import Settings
from tests.cli.test_server_cli import run_cli


def _checkpoints_and_events(
    settings: Settings, out: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    run_cli(settings, "audit", "export", "--out", str(out), "--reason", "signing key rotation check")
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return (
        [r for r in records if r.get("$type") == "checkpoint"],
        [r for r in records if "$type" not in r],
    )


def test_rotating_the_signing_key_keeps_old_checkpoints_verifiable(
    settings: Settings, tmp_path: Path
) -> None:
    run_cli(settings, "users", "create", "one@force.police.test")
    run_cli(settings, "audit", "checkpoint")
    old_public = bytes.fromhex(run_cli(settings, "audit", "public-key").stdout.split()[0])
    kek_file_before = settings.key_file.read_text()

    out = run_cli(settings, "keys", "signing", "rotate").stdout
    new_public = bytes.fromhex(out.split()[4])
    assert new_public != old_public
    assert settings.key_file.read_text() == kek_file_before  # the data keys are not touched

    run_cli(settings, "users", "create", "two@force.police.test")
    assert "checkpoint:" in run_cli(settings, "audit", "checkpoint").stdout  # not "tampered"
    assert bytes.fromhex(run_cli(settings, "audit", "public-key").stdout.split()[0]) == new_public

    checkpoints, events = _checkpoints_and_events(settings, tmp_path / "export.jsonl")
    signed_by = [
        "old" if signature_valid(c, old_public) else "new" if signature_valid(c, new_public) else "none"
        for c in sorted(checkpoints, key=lambda c: int(c["tree_size"]))
    ]
    assert signed_by[0] == "old"
    assert signed_by[-1] == "new"
    assert "none" not in signed_by
    rotation = next(e for e in events if e["action"] == "audit.signing_key.rotated")
    details = rotation["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert details["new_public_key"] == new_public.hex()
    last_old = max(int(c["tree_size"]) for c in checkpoints if signature_valid(c, old_public))
    assert last_old >= int(rotation["seq"])  # the old key vouched for the new one

    # An export that spans the rotation verifies offline with the key history the operator holds...
    export = str(tmp_path / "export.jsonl")
    both = run_cli(
        settings,
        "audit",
        "verify",
        export,
        "--public-key",
        old_public.hex(),
        "--public-key",
        new_public.hex(),
    )
    assert both.returncode == 0, both.stdout + both.stderr
    # ...and not with the new key alone: the old checkpoints are not vouched for by a key given.
    alone = run_cli(settings, "audit", "verify", export, "--public-key", new_public.hex(), check=False)
    assert alone.returncode != 0

    listed = run_cli(settings, "keys", "signing", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == [old_public.hex(), new_public.hex()]
    assert "retired" in listed[0]
    assert "current" in listed[1]
