"""What every server-side command shares: settings from options and env, a migrated runtime."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from strongroom.config import Settings
    from strongroom.runtime import Runtime

# Modules that pull in pydantic, SQLAlchemy or Alembic are imported by the commands that use them,
# not here: `strongroom --help` and the client commands then start in a fraction of the time.

DataDirOption = typer.Option(
    None, "--data-dir", help="Data directory (default: $STRONGROOM_DATA_DIR or ./strongroom-data)."
)
DevOption = typer.Option(
    None, "--dev/--no-dev", help="Development mode: allow plain-HTTP links on loopback etc."
)


def load_settings(
    data_dir: Path | None = None, *, dev: bool | None = None, **overrides: object
) -> "Settings":
    from strongroom.config import Settings

    values: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    if dev is not None:
        values["dev_mode"] = dev
    try:
        return Settings(**values)  # type: ignore[arg-type]  # pydantic validates the overrides
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def open_runtime(settings: "Settings") -> "Runtime":
    from strongroom.db.migrate import upgrade
    from strongroom.runtime import Runtime

    runtime = Runtime.build(settings)
    upgrade(runtime.engine)
    return runtime
