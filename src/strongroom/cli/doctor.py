"""strongroom doctor: what an operator should fix, checked without changing anything.

The checks live in `doctor_checks`, imported when the command runs, so `strongroom --help` stays light.
"""

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command()(doctor)


def doctor(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Data directory (default: $STRONGROOM_DATA_DIR or ./strongroom-data)."
    ),
) -> None:
    """Check keys, schema, blob store, clock, proxies, free space and insecure settings (exit 1 on FAIL)."""
    from strongroom.cli import doctor_checks

    doctor_checks.run(data_dir)
