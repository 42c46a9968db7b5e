"""strongroom skills: run the skills (text, OCR, transcripts, faces and plates) on files stored before
they were turned on, and show where a file's skills stand."""

from pathlib import Path

import typer

from strongroom.cli.common import DataDirOption, load_settings, open_runtime

app = typer.Typer(help="Skills that read, listen to and look at stored files.", no_args_is_help=True)

NowOption = typer.Option(False, "--now", help="Run the queued skills here and now instead of by the worker.")


@app.command("run")
def run(data_dir: Path | None = DataDirOption, now: bool = NowOption) -> None:
    """Queue every fitting skill for each file whose current version never had skills run."""
    from strongroom.db.session import transaction
    from strongroom.jobs import tasks
    from strongroom.jobs.worker import Worker
    from strongroom.skills import processing

    runtime = open_runtime(load_settings(data_dir))
    with transaction(runtime.sessions) as session:
        queued = processing.enqueue_missing(session, runtime.jobs, clock=runtime.clock)
    typer.echo(f"queued {queued} skill runs")
    if now:
        ran = Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()
        typer.echo(f"ran {ran} jobs")
