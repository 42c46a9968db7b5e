"""strongroom audit: verify an export or custody bundle offline, export the log, sign a checkpoint."""

import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer

from strongroom.audit import custody, export, verify, witness
from strongroom.audit.checkpoints import CheckpointTampered, key_id
from strongroom.cli.admin import CLI_ACTOR
from strongroom.cli.common import DataDirOption, load_settings, open_runtime
from strongroom.storage.signing_keys import earlier_public_keys

app = typer.Typer(no_args_is_help=True, help="The audit trail: verify, export, checkpoint.")


def _public_key(value: str | None) -> bytes | None:
    """A hex key given directly, or a file holding it (as `strongroom audit public-key` prints it)."""
    if value is None:
        return None
    text = Path(value).read_text(encoding="ascii").strip() if Path(value).is_file() else value.strip()
    try:
        key = bytes.fromhex(text.split()[0])
    except (ValueError, IndexError) as exc:
        typer.echo("error: --public-key must be 64 hex digits or a file holding them", err=True)
        raise typer.Exit(2) from exc
    if len(key) != 32:
        typer.echo("error: an Ed25519 public key is 32 bytes (64 hex digits)", err=True)
        raise typer.Exit(2)
    return key


def _read_witness(paths: list[Path]) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                item.pop("$type", None)
                records.append(item)
    return records


@app.command("verify")
def verify_command(
    export_file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A JSON lines export or a custody bundle."
    ),
    public_key: str | None = typer.Option(
        None, "--public-key", help="The audit public key (hex or a file), held apart."
    ),
    witness_files: list[Path] = typer.Option(
        [], "--witness", help="Checkpoints kept by a witness (JSON lines)."
    ),
) -> None:
    """Check an export offline: every hash, the gap-free order, checkpoint signatures and Merkle roots.
    Exit status 0 when intact, 1 when anything was tampered with."""
    key = _public_key(public_key)
    with export_file.open(encoding="utf-8") as lines:
        first = lines.readline()
        if first.lstrip().startswith("{") and '"custody_bundle"' in first[:200]:
            problems, warnings = custody.verify_bundle(json.loads(first + lines.read()), public_key=key)
            for warning in warnings:
                typer.echo(f"warning: {warning}", err=True)
            for problem in problems:
                typer.echo(f"TAMPERED: {problem}")
            if problems:
                raise typer.Exit(1)
            typer.echo("OK: custody bundle verified (every event hash and inclusion proof)")
            return
        report = verify.verify_export(
            _chain_first(first, lines), public_key=key, witness=_read_witness(witness_files)
        )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for finding in report.problems:
        typer.echo(f"TAMPERED: {finding}")
    if not report.ok:
        raise typer.Exit(1)
    typer.echo(
        f"OK: {report.events} events (seq {report.first_seq}..{report.last_seq}), "
        f"{report.checkpoints_verified} signed checkpoints verified"
    )


def _chain_first(first: str, rest: Iterable[str]) -> Iterator[str]:

    return itertools.chain([first], rest)


@app.command("export")
def export_command(
    out: Path = typer.Option(..., "--out", help="File to write ('-' for stdout)."),
    format: str = typer.Option(  # noqa: A002 - the option's public name
        "jsonl", "--format", help="jsonl (verifiable) or syslog (RFC 5424, for a SIEM)."
    ),
    after_seq: int = typer.Option(0, "--after-seq", help="Only events after this sequence number."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Export the audit trail."""
    if format not in {"jsonl", "syslog"}:
        typer.echo("error: --format must be jsonl or syslog", err=True)
        raise typer.Exit(2)
    runtime = open_runtime(load_settings(data_dir))
    lines = export.export_log(
        runtime.sessions,
        CLI_ACTOR,
        format=format,
        after_seq=after_seq,
        public_key=runtime.audit_key.public_key(),
        clock=runtime.clock,
    )
    target = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8")
    count = 0
    try:
        for line in lines:
            target.write(line)
            count += 1
    finally:
        if target is not sys.stdout:
            target.close()
    typer.echo(f"wrote {count} lines to {out}", err=True)


@app.command("checkpoint")
def checkpoint_command(data_dir: Path | None = DataDirOption) -> None:
    """Sign a checkpoint over every event now and send it to the configured witnesses."""
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
    runtime = open_runtime(load_settings(data_dir))
    key = runtime.audit_key.public_key()
    typer.echo(f"{key.hex()}  {key_id(key)}")
