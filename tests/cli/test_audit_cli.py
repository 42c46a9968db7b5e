"""`strongroom audit` as an operator runs it: exporting the trail states a reason and is itself
recorded; `audit verify` trusts only the key it is given (exit 0 verified, 3 unverified)."""

from pathlib import Path

from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.config import Settings
from strongroom.runtime import Runtime
from tests.audit.helpers import write_events
from tests.cli.test_server_cli import run_cli


def test_audit_export_needs_a_reason_records_it_and_verifies_only_with_the_held_key(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    write_events(runtime, 3)
    out = tmp_path / "audit.jsonl"
    missing = run_cli(settings, "audit", "export", "--out", str(out), check=False)
    assert missing.returncode == 2
    assert "--reason" in missing.stderr
    unsafe = run_cli(
        settings, "audit", "export", "--out", str(out), "--reason", "SIEM\r\nforged", check=False
    )
    assert unsafe.returncode == 2
    assert "control or text-direction characters" in unsafe.stderr
    with runtime.sessions() as session:
        assert (
            session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.log.exported")).all() == []
        )

    run_cli(settings, "audit", "checkpoint")
    run_cli(settings, "audit", "export", "--out", str(out), "--reason", "Quarterly SIEM reconciliation")
    with runtime.sessions() as session:
        exported = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.log.exported")).one()
    assert (exported.actor_kind, exported.reason) == ("system", "Quarterly SIEM reconciliation")

    key = run_cli(settings, "audit", "public-key").stdout.split()[0]
    held = run_cli(settings, "audit", "verify", str(out), "--public-key", key, check=False)
    assert held.returncode == 0, held.stdout + held.stderr
    assert "OK: 4 events" in held.stdout  # the three written, and the export itself
    keyless = run_cli(settings, "audit", "verify", str(out), check=False)
    assert keyless.returncode == 3, keyless.stdout
    assert "UNVERIFIED: no trusted key" in keyless.stdout
