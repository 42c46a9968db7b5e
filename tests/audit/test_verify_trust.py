"""No key is trusted because the export says so: what `strongroom audit verify` concludes about a full
export with the key held apart, without it, with a wrong one, with witness copies, with its
checkpoints stripped, and with a checkpoint signed for another log. Exit status 0 verified,
1 tampered, 3 intact but unverified."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from strongroom.audit import checkpoints, export
from strongroom.audit.trust import Outcome, Trust
from strongroom.audit.verify import verify_export
from strongroom.cli import app as cli_app
from strongroom.config import Settings
from strongroom.runtime import Runtime
from tests.audit.helpers import checkpoint, export_lines, write_events


def verify_file(path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli_app, ["audit", "verify", str(path), *args])


def write(tmp_path: Path, lines: list[str], name: str = "audit.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_exit_status_says_verified_tampered_or_unverified(runtime: Runtime, tmp_path: Path) -> None:
    write_events(runtime, 4)
    checkpoint(runtime)
    path = write(tmp_path, export_lines(runtime))
    key = runtime.audit_key.public_key().hex()

    held = verify_file(path, "--public-key", key)
    assert held.exit_code == 0, held.output
    assert "OK: 4 events" in held.output

    keyless = verify_file(path)  # the key written in the export vouches for nothing
    assert keyless.exit_code == 3, keyless.output
    assert "UNVERIFIED: no trusted key" in keyless.output
    assert "OK" not in keyless.output

    wrong = verify_file(path, "--public-key", "ab" * 32)
    assert wrong.exit_code == 1, wrong.output
    assert "signature does not verify with the trusted audit key" in wrong.output

    key_file = tmp_path / "trusted-keys.txt"  # a small trust store: one key per line, old keys too
    key_file.write_text(f"# force audit keys\n{'cd' * 32}  retired\n{key}  current\n", encoding="ascii")
    assert verify_file(path, "--public-key", str(key_file)).exit_code == 0


def test_genuine_witness_checkpoints_are_not_tampered_when_no_key_is_given(
    runtime: Runtime, tmp_path: Path
) -> None:
    write_events(runtime, 3)
    made = checkpoint(runtime)
    assert made is not None
    witness_file = tmp_path / "witness.jsonl"
    export.write_witness_file(witness_file, made)
    path = write(tmp_path, export_lines(runtime))

    keyless = verify_file(path, "--witness", str(witness_file))
    assert keyless.exit_code == 3, keyless.output  # unverified (no key), but not tampered
    assert "TAMPERED" not in keyless.output
    held = verify_file(
        path, "--witness", str(witness_file), "--public-key", runtime.audit_key.public_key().hex()
    )
    assert held.exit_code == 0, held.output
    assert "2 signed checkpoints verified" in held.output  # the export's copy and the witness's


def test_an_export_stripped_of_its_checkpoints_is_not_verified(runtime: Runtime, tmp_path: Path) -> None:
    write_events(runtime, 3)
    checkpoint(runtime)
    lines = [line for line in export_lines(runtime) if '"$type":"checkpoint"' not in line]
    result = verify_file(write(tmp_path, lines), "--public-key", runtime.audit_key.public_key().hex())
    assert result.exit_code == 3, result.output
    assert "no signed checkpoint covers these events" in result.output


def test_a_checkpoint_signed_for_another_log_is_tampering(runtime: Runtime, settings: Settings) -> None:
    write_events(runtime, 3)
    genuine = checkpoint(runtime)
    assert genuine is not None
    other = "https://training.force.police.test/audit"  # same key, another log (a training instance)
    created = datetime.fromisoformat(str(genuine["created_at"])).astimezone(UTC)
    note = checkpoints.note(
        origin=other, tree_size=3, root_hash=str(genuine["root_hash"]), created_at=created
    )
    forged = {**genuine, "origin": other, "signature": runtime.audit_key.sign(note).hex()}
    lines = export_lines(runtime)
    spliced = [lines[0], json.dumps({"$type": "checkpoint", **forged}) + "\n", *lines[2:]]
    trust = Trust.of([runtime.audit_key.public_key()])
    report = verify_export(spliced, trust=trust)
    assert report.outcome is Outcome.TAMPERED
    assert any("is signed for the log 'https://training" in str(p) for p in report.problems), report.problems

    # The export names its log; the verifier may insist on the one it expects.
    assert verify_export(lines, trust=trust).origin == f"{settings.public_url}/audit"
    expecting_other = verify_export(lines, trust=Trust.of(trust.keys, origin=other))
    assert expecting_other.outcome is Outcome.TAMPERED
