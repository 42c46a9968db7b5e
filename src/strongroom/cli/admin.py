"""strongroom users / keys: administration from the server's shell (acts as the system)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from strongroom.actors import Actor, Origin
from strongroom.cli.common import DataDirOption, load_settings, open_runtime
from strongroom.errors import StrongroomError

if TYPE_CHECKING:
    from strongroom.config import Settings
    from strongroom.content import maintenance

# Command bodies import what they use: see cli/common.py.

users_app = typer.Typer(no_args_is_help=True, help="Manage local accounts.")
keys_app = typer.Typer(no_args_is_help=True, help="Manage key-encryption keys and the audit signing key.")
signing_app = typer.Typer(no_args_is_help=True, help="The audit signing key: rotate, list.")
keys_app.add_typer(signing_app, name="signing")
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
    from strongroom.content import folders as content_folders
    from strongroom.db.session import transaction
    from strongroom.identity import tokens, users

    runtime = open_runtime(load_settings(data_dir))
    try:
        with transaction(runtime.sessions) as session:
            user = users.create_user(
                session, CLI_ACTOR, email=email, password=password, is_admin=admin, clock=runtime.clock
            )
            content_folders.create_root_folder(session, user, clock=runtime.clock)
            clear = None
            if token:
                expires = tokens.ends_after(session, runtime.clock, token_days or None)
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


def _account_change(email: str, data_dir: Path | None, change: str) -> str | None:
    """Disable, enable or reset the password of the account with this e-mail, as the CLI's admin."""
    from strongroom.db.session import transaction
    from strongroom.identity import accounts, users

    runtime = open_runtime(load_settings(data_dir))
    try:
        with transaction(runtime.sessions) as session:
            user = users.get_user_by_email(session, email)
            if user is None:
                typer.echo(f"error: there is no account with the e-mail {email}", err=True)
                raise typer.Exit(1)
            if change == "reset":
                _, clear = accounts.reset_password(session, CLI_ACTOR, user_id=user.id, clock=runtime.clock)
                return clear
            accounts.set_disabled(
                session, CLI_ACTOR, user_id=user.id, disabled=change == "disable", clock=runtime.clock
            )
            return None
    except StrongroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


@users_app.command("disable")
def disable_user(email: str, data_dir: Path | None = DataDirOption) -> None:
    """Disable an account: its browsers are signed out and its tokens stop working."""
    _account_change(email, data_dir, "disable")
    typer.echo(f"disabled {email}", err=True)


@users_app.command("enable")
def enable_user(email: str, data_dir: Path | None = DataDirOption) -> None:
    """Enable a disabled account again."""
    _account_change(email, data_dir, "enable")
    typer.echo(f"enabled {email}", err=True)


@users_app.command("reset-password")
def reset_password(email: str, data_dir: Path | None = DataDirOption) -> None:
    """Give an account a new random password, printed once on stdout; the user must choose their own
    at their next sign-in in the browser."""
    clear = _account_change(email, data_dir, "reset")
    typer.echo(clear)
    typer.echo(f"{email} must choose a new password at their next sign-in", err=True)


def _holders() -> list[type[object]]:
    from strongroom.sharing import models as sharing_models
    from strongroom.skills import models as skills_models

    # chunks of upload-request files still arriving; skills' sealed cards
    return [sharing_models.SubmissionChunk, skills_models.SkillCard]


def _grace(settings: "Settings", seconds: int | None) -> timedelta:
    return timedelta(seconds=settings.keys.retire_grace_seconds if seconds is None else seconds)


GraceOption = typer.Option(
    None,
    "--grace-seconds",
    min=0,
    help="Keep a superseded key at least this long after its rotation (default: keys.retire_grace_seconds).",
)


def _report(done: "maintenance.Rotation") -> None:
    for kek_id in done.retired:
        typer.echo(f"retired {kek_id}")
    for kek_id, why in done.waiting.items():
        typer.echo(f"kept {kek_id}: {why}")


@keys_app.command("rotate")
def rotate(
    keep_old: bool = typer.Option(
        False,
        "--keep-old",
        help="Keep the old key-encryption keys (never retire them).",
    ),
    grace_seconds: int | None = GraceOption,
    resume: bool = typer.Option(
        False, "--resume", help="Make no new key: finish a rotation that stopped (e.g. the HSM went away)."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Make a new key-encryption key current and re-wrap every data key with it (blobs are not rewritten).

    Safe while the server and workers run: they pick up the new key from the key file. Older keys are
    retired only after the grace period and once nothing is wrapped with them (`strongroom keys retire`).
    """
    from strongroom.cli.progress import bar
    from strongroom.cli.server import seal_clear_totp_secrets
    from strongroom.content import maintenance

    settings = load_settings(data_dir)
    runtime = open_runtime(settings)
    seal_clear_totp_secrets(runtime)  # so that no secret is left outside the rotation
    try:
        with bar("Re-wrapping data keys") as rewrapping:
            done = maintenance.rotate_keys(
                runtime.sessions,
                runtime.keys,
                clock=runtime.clock,
                retire_old=not keep_old,
                grace=_grace(settings, grace_seconds),
                more_holders=_holders(),
                resume=resume,
                progress=rewrapping.done,
            )
    except StrongroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        typer.echo(
            "The rotation stopped; what it re-wrapped is kept. When the key provider is back, run "
            "`strongroom keys rotate --resume` to finish with the same key.",
            err=True,
        )
        raise typer.Exit(1) from exc
    typer.echo(
        f"{'current' if resume else 'new'} key {done.new_kek_id}; re-wrapped {done.rewrapped} data keys"
    )
    _report(done)


@keys_app.command("retire")
def retire(grace_seconds: int | None = GraceOption, data_dir: Path | None = DataDirOption) -> None:
    """Retire superseded key-encryption keys whose grace period has passed and that wrap nothing any more
    (anything still wrapped with them is re-wrapped first). The worker does this every hour too."""
    from strongroom.content import maintenance

    settings = load_settings(data_dir)
    runtime = open_runtime(settings)
    done = maintenance.retire_superseded(
        runtime.sessions,
        runtime.keys,
        clock=runtime.clock,
        grace=_grace(settings, grace_seconds),
        more_holders=_holders(),
    )
    if done.rewrapped:
        typer.echo(f"re-wrapped {done.rewrapped} data keys")
    _report(done)
    if not done.retired and not done.waiting:
        typer.echo("no superseded keys")


@keys_app.command("list")
def list_keys(data_dir: Path | None = DataDirOption) -> None:
    """The key-encryption keys held, oldest first, with how many data keys each wraps now."""
    from strongroom.content import maintenance

    runtime = open_runtime(load_settings(data_dir))
    for kek in runtime.keys.keks():
        count = maintenance.count_wrapped_with(
            runtime.sessions, kek.id, [*maintenance.WRAPPED_KEY_HOLDERS, *_holders()]
        )
        state = "current" if kek.current else f"superseded {kek.superseded_at:%Y-%m-%d %H:%M:%S}Z"
        typer.echo(f"{kek.id}  ({state}; wraps {count} data keys)")


@keys_app.command("usage")
def key_usage(
    since: datetime | None = typer.Option(None, "--since", help="Only uses from this time (ISO 8601, UTC)."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Export the key-use log as JSON lines: each data key's unwraps (by the key provider) and cached
    uses per batch, with the version and item it belongs to, to join with the audit events."""
    import json

    from strongroom.content.key_use_report import key_uses

    runtime = open_runtime(load_settings(data_dir))
    runtime.key_uses.flush()
    with runtime.sessions() as session:
        for row in key_uses(session, since=since.replace(tzinfo=since.tzinfo or UTC) if since else None):
            typer.echo(json.dumps(row, ensure_ascii=False))


@signing_app.command("rotate")
def rotate_signing(data_dir: Path | None = DataDirOption) -> None:
    """Make a new audit signing key. The old key first signs a checkpoint that covers the event naming
    the new key; then its private half is destroyed and its public half kept for old checkpoints."""
    from strongroom.audit import witness
    from strongroom.storage import signing_keys

    runtime = open_runtime(load_settings(data_dir))
    info = signing_keys.rotate_signing_key(
        runtime.sessions,
        runtime.audit_key,
        actor=CLI_ACTOR,
        clock=runtime.clock,
        checkpoint=lambda: witness.checkpoint_now(
            runtime.sessions,
            settings=runtime.settings,
            sign=runtime.audit_key.sign,
            public_key=runtime.audit_key.public_key(),
            earlier_keys=signing_keys.earlier_public_keys(runtime.audit_key),
            clock=runtime.clock,
        ),
    )
    typer.echo(f"new audit signing key {info.public_key.hex()}  {info.key_id}")
    typer.echo("Give the new public key to whoever verifies exports; keep the old one for older checkpoints.")


@signing_app.command("list")
def list_signing(data_dir: Path | None = DataDirOption) -> None:
    """Every audit signing key this installation has used (public halves), oldest first."""
    runtime = open_runtime(load_settings(data_dir))
    for info in runtime.audit_key.history():
        state = "current" if info.retired_at is None else f"retired {info.retired_at:%Y-%m-%d %H:%M:%S}Z"
        typer.echo(f"{info.public_key.hex()}  {info.key_id}  ({state})")


@users_app.command("scim-token")
def scim_token(
    name: str = typer.Option("directory", "--name", help="Which directory it is for, e.g. 'Entra ID'."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Issue a provisioning token for the force's directory (SCIM at /scim/v2); stdout is only the token."""
    from strongroom.db.session import transaction
    from strongroom.identity import directory

    runtime = open_runtime(load_settings(data_dir))
    try:
        with transaction(runtime.sessions) as session:
            clear = directory.issue_provisioning_token(session, CLI_ACTOR, name=name, clock=runtime.clock)
    finally:
        runtime.close()
    typer.echo(clear)
