"""strongroom scan: run the virus scan now, for files waiting for it (and with --rescan, again)."""

from pathlib import Path

import typer

from strongroom.cli.common import DataDirOption, load_settings, open_runtime

RescanOption = typer.Option(
    False,
    "--rescan",
    help="Also scan again files held as too large to scan and files that passed (after a signature "
    "update, or after raising clamd's StreamMaxLength and scan.stream_max_bytes).",
)


def register(app: typer.Typer) -> None:
    app.command()(scan)


def scan(data_dir: Path | None = DataDirOption, rescan: bool = RescanOption) -> None:
    """Scan every file waiting for the virus scanner now and print each outcome. Exit 1 when any file
    is still waiting (scanner not configured or not reachable) or was found infected."""
    from sqlalchemy import select

    from strongroom.content.models import File, FileVersion
    from strongroom.db.session import transaction
    from strongroom.skills import virus_scan

    runtime = open_runtime(load_settings(data_dir))
    settings = runtime.settings
    for problem in virus_scan.requirements(settings.scan):
        typer.echo(f"warning: {problem}", err=True)
    with transaction(runtime.sessions) as session:
        ids = virus_scan.versions_to_scan(session, rescan=rescan)
    mail = virus_scan.ScanMail(settings=settings.mail, public_url=settings.public_url)
    counts: dict[str, int] = {}
    for version_id in ids:
        status = virus_scan.scan_version(
            runtime.sessions,
            version_id=version_id,
            settings=settings.scan,
            store=runtime.blobs,
            keys=runtime.keys,
            jobs=runtime.jobs,
            clock=runtime.clock,
            mail=mail,
            rescan=rescan,
        )
        counts[status] = counts.get(status, 0) + 1
        with transaction(runtime.sessions) as session:
            row = session.execute(
                select(File.name, FileVersion.scan_detail)
                .join(FileVersion, FileVersion.file_id == File.id)
                .where(FileVersion.id == version_id)
            ).one()
        detail = f" ({row.scan_detail})" if row.scan_detail else ""
        typer.echo(f"{status:<12} {row.name} [{version_id}]{detail}")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to scan"
    typer.echo(f"scanned {len(ids)} versions: {summary}")
    raise typer.Exit(1 if counts.get("unavailable") or counts.get("infected") else 0)
