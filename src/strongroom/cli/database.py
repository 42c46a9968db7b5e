"""strongroom db upgrade / current / downgrade: schema changes are a step the operator takes."""

from pathlib import Path

import typer

from strongroom.cli.common import DataDirOption, fail, load_settings, open_engine

# SQLAlchemy and Alembic are imported by the commands when they run, so `--help` stays light.

app = typer.Typer(no_args_is_help=True, help="The database schema: upgrade, current, downgrade.")


@app.command()
def upgrade(
    data_dir: Path | None = DataDirOption,
    revision: str = typer.Option("head", "--revision", help="Target revision (default: the newest)."),
) -> None:
    """Upgrade the schema (back the database up first; see docs/ops/upgrades.md)."""
    _move_schema(
        data_dir,
        "upgrade",
        revision,
        failure="the upgrade failed and was rolled back where the database allows",
    )


@app.command()
def current(data_dir: Path | None = DataDirOption) -> None:
    """Print the database's schema revision and whether it is the one this version needs (exit 1 if not)."""
    from strongroom.db import migrate

    engine = open_engine(load_settings(data_dir))
    try:
        state = migrate.schema_state(engine)
    finally:
        engine.dispose()
    typer.echo(f"{_show(state.revisions)} ({state.schema.value}; this version needs {state.head})")
    raise typer.Exit(0 if state.schema is migrate.Schema.CURRENT else 1)


@app.command()
def downgrade(
    revision: str = typer.Argument(
        ..., help="Target revision: an id, `base`, or `-1` for one step (write `-- -1`)."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Undo migrations down to REVISION (drops what they added: restore a backup to keep data)."""
    _move_schema(data_dir, "downgrade", revision, failure="the downgrade failed")


def _move_schema(data_dir: Path | None, direction: str, revision: str, *, failure: str) -> None:
    """Run `migrate.upgrade` or `migrate.downgrade` to `revision` and print the schema before and after."""
    from sqlalchemy.exc import SQLAlchemyError

    from strongroom.db import migrate

    move = migrate.upgrade if direction == "upgrade" else migrate.downgrade
    engine = open_engine(load_settings(data_dir))
    try:
        before = migrate.current_revisions(engine)
        move(engine, revision)
        after = migrate.current_revisions(engine)
    except SQLAlchemyError as exc:
        raise fail(f"{failure}: {exc}") from exc
    finally:
        engine.dispose()
    typer.echo(f"schema {_show(before)} -> {_show(after)}")


def _show(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) or "(empty)"
