"""strongroom users / keys: administration from the server's shell (acts as the system)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from strongroom.actors import Actor, Origin
from strongroom.cli.common import DataDirOption, load_settings, open_runtime
from strongroom.content import folders as content_folders
from strongroom.content import maintenance
from strongroom.db.session import transaction
from strongroom.errors import StrongroomError
from strongroom.identity import tokens, users
from strongroom.sharing import models as sharing_models

users_app = typer.Typer(no_args_is_help=True, help="Manage local accounts.")
keys_app = typer.Typer(no_args_is_help=True, help="Manage key-encryption keys.")
CLI_ACTOR = Actor.system(label="cli", origin=Origin(user_agent="strongroom-cli"))


@users_app.command("create")
def create_user(
    email: str,
    admin: bool = typer.Option(False, "--admin", help="Make the user an administrator."),
    token: bool = typer.Option(
        False, "--token", help="Also issue a personal access token and print it on stdout."
    ),
    password: str | None = typer.Option(
        None, "--password", envvar="STRONGROOM_NEW_PASSWORD", help="Initial password."
    ),
    token_days: int | None = typer.Option(
        None, "--token-days", help="Token lifetime in days (default: no expiry)."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Create a local account. With --token, stdout is only the token, for scripts."""
    runtime = open_runtime(load_settings(data_dir))
    try:
        with transaction(runtime.sessions) as session:
            user = users.create_user(
                session, CLI_ACTOR, email=email, password=password, is_admin=admin, clock=runtime.clock
            )
            content_folders.create_root_folder(session, user, clock=runtime.clock)
            clear = None
            if token:
                expires = datetime.now(UTC) + timedelta(days=token_days) if token_days else None
                _, clear = tokens.issue_token(
                    session, CLI_ACTOR, user=user, name="cli", expires_at=expires, clock=runtime.clock
                )
    except StrongroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    if clear:
        typer.echo(clear)
    else:
        typer.echo(f"created {user.email} ({user.id})", err=True)


@keys_app.command("rotate")
def rotate(
    keep_old: bool = typer.Option(
        False, "--keep-old", help="Keep the old key-encryption keys after re-wrapping."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Make a new key-encryption key current and re-wrap every data key with it (blobs are not rewritten)."""
    runtime = open_runtime(load_settings(data_dir))
    new_kek, count = maintenance.rotate_keys(
        runtime.sessions,
        runtime.keys,
        clock=runtime.clock,
        retire_old=not keep_old,
        more_holders=[sharing_models.SubmissionChunk],  # chunks of upload-request files still arriving
    )
    typer.echo(f"new key {new_kek}; re-wrapped {count} data keys")


@keys_app.command("list")
def list_keys(data_dir: Path | None = DataDirOption) -> None:
    """The key-encryption keys held, current first."""
    runtime = open_runtime(load_settings(data_dir))
    current = runtime.keys.current_kek_id()
    for kek in runtime.keys.kek_ids():
        typer.echo(f"{kek}{'  (current)' if kek == current else ''}")
