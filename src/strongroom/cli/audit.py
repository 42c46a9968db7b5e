"""strongroom audit: verify an export or custody bundle offline, export the log, sign a checkpoint."""

import itertools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from strongroom.cli.admin import CLI_ACTOR
from strongroom.cli.common import DataDirOption, load_settings, open_runtime
from strongroom.errors import StrongroomError

if TYPE_CHECKING:
    from strongroom.audit.trust import Outcome, Trust

# Command bodies import what they use (the custody verifier pulls in fpdf): see cli/common.py.

ED25519_KEY_BYTES = 32
app = typer.Typer(no_args_is_help=True, help="The audit trail: verify, export, checkpoint.")


def _public_keys(values: list[str]) -> frozenset[bytes]:
    """Hex keys given directly, or files holding one per line (as `strongroom audit public-key` prints
    them): the keys the verifier trusts."""
    keys: set[bytes] = set()
    for value in values:
        path = Path(value)
        texts = path.read_text(encoding="ascii").splitlines() if path.is_file() else [value]
        for text in (t.strip() for t in texts):
            if not text or text.startswith("#"):
                continue
            try:
                key = bytes.fromhex(text.split()[0])
            except ValueError as exc:
                typer.echo("error: --public-key must be 64 hex digits or a file holding them", err=True)
                raise typer.Exit(2) from exc
            if len(key) != ED25519_KEY_BYTES:
                typer.echo("error: an Ed25519 public key is 32 bytes (64 hex digits)", err=True)
                raise typer.Exit(2)
            keys.add(key)
    return frozenset(keys)


def _read_witness(paths: list[Path]) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip():
                item = json.loads(line)
                item.pop("$type", None)
                records.append(item)
    return records


def _conclude(
    outcome: "Outcome", *, problems: list[str], unverified: list[str], warnings: list[str], ok: str
) -> None:
    """Print the findings and the outcome, and exit with the outcome's status (see audit/trust.py)."""
    from strongroom.audit.trust import EXIT_STATUS, Outcome

    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    for problem in problems:
        typer.echo(f"TAMPERED: {problem}")
    if outcome is Outcome.UNVERIFIED:
        for why in unverified:
            typer.echo(f"UNVERIFIED: {why}")
        typer.echo("UNVERIFIED: nothing was found altered, but nothing trusted vouches for the file")
    elif outcome is Outcome.VERIFIED:
        typer.echo(ok)
    raise typer.Exit(EXIT_STATUS[outcome])


@app.command("verify")
def verify_command(
    export_file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A JSON lines export or a custody bundle."
    ),
    public_key: list[str] = typer.Option(
        [],
        "--public-key",
        help="The audit public key you hold (hex, or a file of keys one per line); repeatable.",
    ),
    origin: str | None = typer.Option(
        None, "--origin", help="The log's name the checkpoints must carry (default: the file's own)."
    ),
    witness_files: list[Path] = typer.Option(
        [], "--witness", help="Checkpoints kept by a witness (JSON lines)."
    ),
    log_file: Path | None = typer.Option(
        None,
        "--log",
        exists=True,
        dir_okay=False,
        help="For a custody bundle: a full export of the log, to check that no event was left out.",
    ),
) -> None:
    """Check an export or a custody bundle offline: every hash, the gap-free order, checkpoint
    signatures, origins and Merkle roots, inclusion proofs.

    Exit status 0 verified; 1 tampered (or an event no signed checkpoint vouches for); 3 intact but
    unverified (no trusted key given, or no signed checkpoint); 2 usage error."""
    from strongroom.audit import verify
    from strongroom.audit.trust import Trust
    from strongroom.cli.progress import bar

    trust = Trust(_public_keys(public_key), origin)
    witness_records = _read_witness(witness_files)
    with export_file.open(encoding="utf-8") as lines:
        first = lines.readline()
        if first.lstrip().startswith("{") and '"custody_bundle"' in first[:200]:
            _verify_bundle(json.loads(first + lines.read()), trust=trust, log_file=log_file)
            return
        if first.strip() == "{":  # a pretty-printed document: a disposal certificate
            _verify_certificate(_json_document(first + lines.read()), trust=trust, log_file=log_file)
            return
        with bar("Checking the export", total=export_file.stat().st_size, in_bytes=True) as checking:
            counted = _counted(itertools.chain([first], lines), checking.advance)
            report = verify.verify_export(counted, trust=trust, witness=witness_records)
    _conclude(
        report.outcome,
        problems=[str(p) for p in report.problems],
        unverified=report.unverified,
        warnings=report.warnings,
        ok=f"OK: {report.events} events (seq {report.first_seq}..{report.last_seq}) of the log"
        f" {report.origin!r}, {report.checkpoints_verified} signed checkpoints verified",
    )


def _verify_bundle(bundle: dict[str, Any], *, trust: "Trust", log_file: Path | None) -> None:
    from strongroom.audit import custody_verify, verify
    from strongroom.audit.trust import Outcome

    verdict = custody_verify.verify_bundle(bundle, trust=trust)
    checkpoint = bundle.get("checkpoint")
    covered = f" up to event {checkpoint.get('tree_size')}" if isinstance(checkpoint, dict) else ""
    complete = "; completeness not checked (--log)"
    if log_file is not None:
        item = bundle.get("item")
        with log_file.open(encoding="utf-8") as lines:
            log = verify.verify_export(
                lines, trust=trust, item_id=str(item.get("id")) if isinstance(item, dict) else None
            )
        if log.outcome is not Outcome.VERIFIED:
            verdict.problems.append(
                f"the log export given with --log is {log.outcome.value}; verify it on its own first"
            )
        elif log.origin != bundle.get("origin"):
            verdict.problems.append(
                f"the log export is of {log.origin!r}, the bundle of {bundle.get('origin')!r}"
            )
        else:
            verdict.problems.extend(custody_verify.completeness(bundle, log))
            verdict.warnings = [w for w in verdict.warnings if not w.startswith("completeness")]
            complete = " and none is left out (checked against the log)"
    events = bundle.get("events")
    count = len(events) if isinstance(events, list) else 0
    _conclude(
        verdict.outcome,
        problems=verdict.problems,
        unverified=verdict.unverified,
        warnings=verdict.warnings,
        ok=f"OK: custody bundle verified: its {count} events are in the signed log {bundle.get('origin')!r}"
        f"{covered} (every event hash and inclusion proof){complete}",
    )


def _json_document(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        typer.echo("error: the file is neither a log export, a custody bundle nor a certificate", err=True)
        raise typer.Exit(2)
    return document


def _verify_certificate(certificate: dict[str, Any], *, trust: "Trust", log_file: Path | None) -> None:
    from strongroom.audit import disposal_verify, verify
    from strongroom.audit.trust import Outcome

    verdict = disposal_verify.verify_certificate(certificate, trust=trust)
    checked = "; not checked against the log (--log)"
    named = disposal_verify.purge_event_of(certificate)
    if log_file is not None and named is not None:
        with log_file.open(encoding="utf-8") as lines:
            log = verify.verify_export(lines, trust=trust, item_id=named[2])
        if log.outcome is not Outcome.VERIFIED:
            verdict.problems.append(
                f"the log export given with --log is {log.outcome.value}; verify it first"
            )
        else:
            verdict.problems.extend(disposal_verify.in_log(certificate, log.item_events))
            checked = f"; its purge event {named[0]} is in the signed log"
    _conclude(
        verdict.outcome,
        problems=verdict.problems,
        unverified=verdict.unverified,
        warnings=[],
        ok=f"OK: disposal certificate verified: {disposal_verify.summary(certificate)}{checked}",
    )


@app.command("disposals")
def disposals_command(
    out: Path = typer.Option(..., "--out", file_okay=False, help="Folder to write one certificate per file."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Write every signed disposal certificate to OUT (<id>.json), for the force's records."""
    from strongroom.content import disposals
    from strongroom.db.session import transaction

    runtime = open_runtime(load_settings(data_dir))
    runtime.issue_disposal_certificates()
    out.mkdir(parents=True, exist_ok=True)
    with transaction(runtime.sessions) as session:
        written = 0
        for disposal in disposals.certificates(session):
            (out / f"{disposal.id}.json").write_text((disposal.certificate or "") + "\n", encoding="utf-8")
            written += 1
    typer.echo(f"wrote {written} disposal certificates to {out}")


def _counted(lines: Iterator[str], advance: Callable[[float], None]) -> Iterator[str]:
    """The lines, telling `advance` how many bytes each was (UTF-8, as on disk)."""
    for line in lines:
        advance(len(line.encode()))
        yield line


@app.command("export")
def export_command(
    out: Path = typer.Option(..., "--out", help="File to write ('-' for stdout)."),
    format: str = typer.Option(  # noqa: A002 - the option's public name
        "jsonl", "--format", help="jsonl (verifiable) or syslog (RFC 5424, for a SIEM)."
    ),
    after_seq: int = typer.Option(0, "--after-seq", help="Only events after this sequence number."),
    reason: str = typer.Option(
        ..., "--reason", help="Why you export the trail; recorded in it (the export is itself audited)."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Export the audit trail. The export is recorded in the trail with its reason."""
    from strongroom.audit import export, reasons, witness

    if format not in {"jsonl", "syslog"}:
        typer.echo("error: --format must be jsonl or syslog", err=True)
        raise typer.Exit(2)
    try:
        stated = reasons.require_audit_reason(reasons.clean_reason(reason, percent_encoded=False))
    except StrongroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    runtime = open_runtime(load_settings(data_dir))
    lines = export.export_log(
        runtime.sessions,
        CLI_ACTOR,
        format=format,
        after_seq=after_seq,
        public_key=runtime.audit_key.public_key(),
        origin=witness.origin_of(runtime.settings),
        reason=stated,
        clock=runtime.clock,
    )
    from strongroom.cli.progress import bar

    target = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8")
    count = 0
    try:
        expected = export.lines_expected(runtime.sessions, format=format, after_seq=after_seq)
        with bar("Exporting the audit trail", total=expected) as going:
            for line in lines:
                target.write(line)
                count += 1
                going.advance()
    finally:
        if target is not sys.stdout:
            target.close()
    typer.echo(f"wrote {count} lines to {out}", err=True)


@app.command("checkpoint")
def checkpoint_command(data_dir: Path | None = DataDirOption) -> None:
    """Sign a checkpoint over every event now and send it to the configured witnesses."""
    from strongroom.audit import witness
    from strongroom.audit.checkpoints import CheckpointTampered
    from strongroom.storage.signing_keys import earlier_public_keys

    runtime = open_runtime(load_settings(data_dir))
    try:
        made = witness.checkpoint_now(
            runtime.sessions,
            settings=runtime.settings,
            sign=runtime.audit_key.sign,
            public_key=runtime.audit_key.public_key(),
            earlier_keys=earlier_public_keys(runtime.audit_key),
            clock=runtime.clock,
        )
    except CheckpointTampered as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    if made is None:
        typer.echo("no new events since the last checkpoint")
    else:
        typer.echo(f"checkpoint: {made['tree_size']} events, root {made['root_hash']}")


@app.command("public-key")
def public_key_command(data_dir: Path | None = DataDirOption) -> None:
    """Print the audit public key (hex) and its id: keep a copy away from the server."""
    from strongroom.audit.checkpoints import key_id

    runtime = open_runtime(load_settings(data_dir))
    key = runtime.audit_key.public_key()
    typer.echo(f"{key.hex()}  {key_id(key)}")
