"""What every server-side command shares: settings from options and env, a runtime on a current schema."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

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
MigrateOption = typer.Option(
    False,
    "--migrate",
    help="Upgrade the database schema to this version first (like `strongroom db upgrade`).",
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


def is_embedded(settings: "Settings") -> bool:
    """The default SQLite file in the data dir: one process owns it, so it may migrate itself."""
    return settings.database.url is None


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def open_engine(settings: "Settings") -> "Engine":
    """An engine for the configured database; exits 2 with the reason when it cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    from strongroom.db.session import make_engine

    if is_embedded(settings):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise fail(f"cannot reach the database ({_location(settings)}): {exc.__class__.__name__}") from exc
    return engine


def migrate(settings: "Settings") -> None:
    from strongroom.db.migrate import is_at_head, upgrade

    engine = open_engine(settings)
    try:
        if not is_at_head(engine):  # at head already (most starts): no need to load alembic
            upgrade(engine)
    finally:
        engine.dispose()


def require_current_schema(settings: "Settings") -> None:
    """Refuse to work on a schema this version did not make; say which command brings it to head."""
    from sqlalchemy.exc import SQLAlchemyError

    from strongroom.db.migrate import Schema, schema_state

    if is_embedded(settings) and not (settings.data_dir / "strongroom.db").exists():
        raise fail(
            f"there is no database in {settings.data_dir} yet: start `strongroom serve` once "
            "(it creates and migrates it) or run `strongroom db upgrade`"
        )
    engine = open_engine(settings)
    try:
        state = schema_state(engine)
    except SQLAlchemyError as exc:
        raise fail(f"cannot read the database's schema version: {exc.__class__.__name__}") from exc
    finally:
        engine.dispose()
    where = _location(settings)
    if state.schema is Schema.EMPTY:
        raise fail(f"the database ({where}) has no schema yet: run `strongroom db upgrade`")
    if state.schema is Schema.BEHIND:
        raise fail(
            f"the database ({where}) is at schema {', '.join(state.revisions)}, this version needs "
            f"{state.head}: back it up, then run `strongroom db upgrade` (docs/ops/upgrades.md)"
        )
    if state.schema is Schema.AHEAD:
        raise fail(
            f"the database ({where}) is at schema {', '.join(state.revisions)}, newer than this "
            f"version knows ({state.head}): run the Strongroom version that migrated it"
        )


def open_runtime(settings: "Settings", *, migrate_first: bool = False) -> "Runtime":
    """The runtime every command works with, on a schema at head (migrated first only when asked)."""
    from strongroom.runtime import Runtime

    if migrate_first:
        migrate(settings)
    else:
        require_current_schema(settings)
    return Runtime.build(settings)


def _location(settings: "Settings") -> str:
    if is_embedded(settings):
        return str(settings.data_dir / "strongroom.db")
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)
