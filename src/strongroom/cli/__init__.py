"""The `strongroom` command: server administration and (later) the client."""

import typer

from strongroom.cli import admin, audit, backup, client, database, doctor, importing, scanning, server

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Strongroom: store, share and prove evidence."
)
server.register(app)
client.register(app)
scanning.register(app)
doctor.register(app)
backup.register(app)
importing.register(app)
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(database.app, name="db")


def main() -> None:
    app()
