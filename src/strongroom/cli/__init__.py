"""The `strongroom` command: server administration and (later) the client."""

import typer

from strongroom.cli import (
    admin,
    audit,
    backup,
    client,
    client_search,
    client_sharing,
    database,
    doctor,
    importing,
    scanning,
    server,
    skills,
)

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Strongroom: store, share and prove evidence."
)


def _print_version(value: bool) -> None:  # typer passes the flag positionally
    if value:
        from strongroom import __version__  # only when asked

        typer.echo(f"strongroom {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(  # handled by its eager callback
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Strongroom: store, share and prove evidence."""


server.register(app)
client.register(app)
client_sharing.register(app)
scanning.register(app)
doctor.register(app)
backup.register(app)
importing.register(app)
client_search.register(app)
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(database.app, name="db")
app.add_typer(skills.app, name="skills")


def main() -> None:
    app()
