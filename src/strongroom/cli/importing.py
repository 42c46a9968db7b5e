"""`strongroom import PATH --into FOLDER --as USER`: a share drive or a folder of mail (content/importing)."""

from __future__ import annotations

import csv
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from strongroom.cli.common import DataDirOption, fail, load_settings, open_runtime

if TYPE_CHECKING:
    from rich.console import Console

    from strongroom.content.importing import Outcome

REPORT_COLUMNS = (
    "status",
    "source",
    "stored_as",
    "size",
    "modified_at",
    "sha256",
    "file_id",
    "version_id",
    "error",
)


def register(app: typer.Typer) -> None:
    app.command("import")(import_files)


def import_files(
    source: Path = typer.Argument(
        ..., help="A folder (a share drive, a mail export of .eml files) or one file."
    ),
    into: str = typer.Option(
        ...,
        "--into",
        help="Target folder below the user's All files, e.g. 'Case 42/Imports' (made if missing).",
    ),
    as_user: str = typer.Option(
        ...,
        "--as",
        help="E-mail of the user the files are imported for: their access applies, the audit names them.",
    ),
    mail_attachments: bool = typer.Option(
        True,
        "--mail-attachments/--no-mail-attachments",
        help="Extract the attachments of .eml messages beside them.",
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Where to write the CSV report (default: <data dir>/imports/<run>.csv)."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Import every file under SOURCE: names, folders and modification times kept, every file hashed
    (SHA-256) and audited. Resumable: run the same command again after an interruption and it carries on.
    Exit 1 if any file failed (the report says which and why)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from strongroom.content import importing
    from strongroom.db.session import transaction
    from strongroom.errors import StrongroomError
    from strongroom.identity import groups, users

    settings = load_settings(data_dir)
    runtime = open_runtime(settings)
    source = source.resolve()
    if not source.exists():
        raise fail(f"{source} does not exist")
    with transaction(runtime.sessions) as session:
        user = users.get_user_by_email(session, as_user)
        if user is None or user.root_folder_id is None:
            raise fail(
                f"there is no user {as_user} with a home folder; create one with `strongroom users create`"
            )
        actor = users.actor_for(user, group_ids=groups.group_ids_of(session, user.id))
        try:
            into_id = importing.resolve_target(
                session, actor, root_id=user.root_folder_id, path=into, clock=runtime.clock
            )
        except StrongroomError as exc:
            raise fail(exc.message) from exc
    run = hashlib.sha256(f"{source}\0{into}\0{user.id}".encode()).hexdigest()[:16]
    imports = settings.data_dir / "imports"
    importer = importing.Importer(
        sessions=runtime.sessions, store=runtime.blobs, keys=runtime.keys, clock=runtime.clock,
        jobs=runtime.jobs, segment_size=settings.limits.segment_bytes, actor=actor, into_id=into_id,
        journal=imports / f"{run}.journal.jsonl",
    )  # fmt: skip
    if earlier := importer.load_journal():
        typer.echo(f"resuming: {earlier} files were imported by an earlier run", err=True)
    total = _bytes_under(source)
    outcomes: list[Outcome] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=_stderr_console(), transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("importing", total=total)
        try:
            for item in importing.walk(source, mail_attachments=mail_attachments):
                progress.update(task, description=item.key[-40:])
                outcome = importer.run_one(item)
                outcomes.append(outcome)
                if outcome.status == "failed":
                    progress.console.print(f"FAILED {item.key}: {outcome.error}")
                if "#" not in item.key:  # attachments are inside their message's bytes
                    progress.advance(task, item.size)
        except KeyboardInterrupt:
            progress.console.print("interrupted: run the same command again to carry on")
    report = report or imports / f"{run}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv"
    _write_report(report, outcomes)
    importer.record_finished(source=str(source), outcomes=outcomes, report=str(report))
    counts = {s: sum(o.status == s for o in outcomes) for s in ("imported", "skipped", "failed")}
    typer.echo(
        f"imported {counts['imported']}, skipped {counts['skipped']} (done before), "
        f"failed {counts['failed']}; report: {report}"
    )
    raise typer.Exit(1 if counts["failed"] else 0)


def _stderr_console() -> Console:
    from rich.console import Console  # imported when the command runs

    return Console(stderr=True)


def _bytes_under(source: Path) -> int:
    if source.is_file():
        return source.stat().st_size
    total = 0
    for directory, _, files in os.walk(source):
        for name in files:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
    return total


def _write_report(path: Path, outcomes: list[Outcome]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for o in outcomes:
            writer.writerow((
                o.status, o.source.key, o.stored_as, o.source.size, o.source.modified_at.isoformat(),
                o.sha256, o.file_id, o.version_id, o.error,
            ))  # fmt: skip
