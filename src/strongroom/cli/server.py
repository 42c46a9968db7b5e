"""strongroom serve / verify / gc: running and checking a server."""

import contextlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from strongroom.cli.common import (
    DataDirOption,
    DevOption,
    MigrateOption,
    is_embedded,
    load_settings,
    open_runtime,
)
from strongroom.cli.tuning import freeze_startup_objects, tune_malloc

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

    from strongroom.config import ServerSettings
    from strongroom.jobs.worker import Worker
    from strongroom.runtime import Runtime

# Command bodies import what they use: see cli/common.py.

BOOTSTRAP_ADMIN = "admin@strongroom.local"


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(verify)
    app.command()(gc)
    app.command()(worker)


def build_worker(runtime: "Runtime") -> "Worker":
    from strongroom.jobs import tasks
    from strongroom.jobs.worker import Worker

    return Worker(runtime, runtime.jobs, tasks.handlers(), tasks.periodic())


def worker(data_dir: Path | None = DataDirOption, migrate: bool = MigrateOption) -> None:
    """Run background jobs (scans, previews, housekeeping) in this process until interrupted."""
    from strongroom.request_log import configure_logging

    settings = load_settings(data_dir)
    configure_logging(log_format=settings.server.log_format, access=False)
    runtime = open_runtime(settings, migrate_first=migrate)
    background = build_worker(runtime)
    background.stop_on_sigterm()
    typer.echo("worker started; Ctrl-C or SIGTERM to stop")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop where it is; the job's claim runs out
        background.run_forever()
    typer.echo("worker stopped")


def serve(
    data_dir: Path | None = DataDirOption,
    port: int | None = typer.Option(
        None, "--port", help="TCP port (default: [server] port in the config file, or 8000)."
    ),
    host: str | None = typer.Option(
        None, "--host", help="Address to listen on (default: [server] host in the config file, or 127.0.0.1)."
    ),
    dev: bool | None = DevOption,
    migrate: bool = MigrateOption,
) -> None:
    """Start the server and print its URL and how to sign in.

    The embedded SQLite database is migrated on start; a configured database (PostgreSQL, shared by
    several processes) only with --migrate or `strongroom db upgrade`, so an upgrade is a step the
    operator takes once, not a race between replicas.
    """
    import uvicorn

    from strongroom.app import create_app
    from strongroom.request_log import configure_logging

    base = load_settings(data_dir, dev=dev)
    # A flag wins; otherwise the config file and STRONGROOM_SERVER__HOST/PORT decide.
    server = base.server.model_copy(
        update={"host": host or base.server.host, "port": base.server.port if port is None else port}
    )
    settings = base.model_copy(update={"server": server})
    configure_logging(log_format=server.log_format, access=server.access_log)
    runtime = open_runtime(settings, migrate_first=migrate or is_embedded(settings))
    password = ensure_bootstrap_admin(runtime)
    if sealed := seal_clear_totp_secrets(runtime):
        typer.echo(f"  sealed {sealed} authenticator app secrets kept in clear by an older version")
    typer.echo(f"Strongroom is running at {settings.public_url}/")
    typer.echo(f"  API: {settings.public_url}/api/v1/openapi.json")
    if password:
        typer.echo(f"  Sign in as {BOOTSTRAP_ADMIN} with password {password}")
        typer.echo(
            f"  (also saved to {settings.data_dir / 'admin-password.txt'}; change it after signing in)"
        )
    else:
        typer.echo(
            "  Sign in with your account; the first admin's password is in "
            f"{settings.data_dir / 'admin-password.txt'}"
        )
    tune_malloc()
    app = create_app(runtime)
    freeze_startup_objects()  # after building the app, so its routes and models are frozen too
    background = build_worker(runtime)
    background.start_thread()
    if server.engine == "granian":
        from strongroom.cli.granian_server import run_granian

        run_granian(app, server)
        return
    uvicorn.Server(uvicorn_config(app, server)).run()


def uvicorn_config(app: "ASGIApp", server: "ServerSettings") -> "uvicorn.Config":
    """How `strongroom serve` runs uvicorn: read deadlines on, uvicorn's own proxy headers off."""
    import uvicorn

    from strongroom.cli.http_guard import guarded_protocol

    return uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        loop="uvloop",
        http=guarded_protocol(server),
        ws="none",  # no door speaks WebSocket (granian runs with websockets=False too); saves its import
        log_level="warning",
        timeout_keep_alive=30,
        # The app decides the client address itself (strongroom.client_address, [server]
        # trusted_proxies); uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1.
        proxy_headers=False,
        forwarded_allow_ips="",
    )


def ensure_bootstrap_admin(runtime: "Runtime") -> str | None:
    """On a fresh data dir, create the first admin with a random password and return it."""
    from strongroom.actors import Actor
    from strongroom.content import folders as content_folders
    from strongroom.db.session import transaction
    from strongroom.identity import users
    from strongroom.identity.models import User

    with transaction(runtime.sessions) as session:
        if session.query(User.id).first() is not None:
            return None
        password = secrets.token_urlsafe(12)
        admin = users.create_user(
            session,
            Actor.system(label="bootstrap"),
            email=BOOTSTRAP_ADMIN,
            display_name="Administrator",
            password=password,
            is_admin=True,
            clock=runtime.clock,
        )
        content_folders.create_root_folder(session, admin, clock=runtime.clock)
    path = runtime.settings.data_dir / "admin-password.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{BOOTSTRAP_ADMIN}\n{password}\n")
    return password


def seal_clear_totp_secrets(runtime: "Runtime") -> int:
    """Seal authenticator app secrets stored in clear before 0011_accounts_totp (a migration has no key
    provider). When the provider is away this waits for another start (or their next use)."""
    from strongroom.db.session import transaction
    from strongroom.errors import Unavailable
    from strongroom.identity import mfa
    from strongroom.storage.sealed_values import ValueSealer

    try:
        with transaction(runtime.sessions) as session:
            return mfa.seal_clear_secrets(session, ValueSealer(runtime.keys))
    except Unavailable as exc:
        typer.echo(f"warning: authenticator app secrets not sealed yet: {exc.message}", err=True)
        return 0


def verify(data_dir: Path | None = DataDirOption) -> None:
    """Decrypt every stored version and rendition and check its SHA-256; exit 1 if anything is wrong.
    Each failure is also recorded as a `storage.blob.tampered` audit event."""
    from strongroom.cli.progress import bar
    from strongroom.content import scrub

    runtime = open_runtime(load_settings(data_dir))
    with bar("Checking stored files", total=scrub.stored_count(runtime.sessions)) as checking:
        report = scrub.verify_all(
            runtime.sessions,
            runtime.blobs,
            runtime.keys,
            clock=runtime.clock,
            progress=lambda _blob: checking.advance(),
        )
    for failure in report.failures:
        typer.echo(f"FAILED {failure}", err=True)
    versions, renditions = report.checked["version"], report.checked["rendition"]
    typer.echo(f"checked {versions} versions and {renditions} renditions, {len(report.failures)} failed")
    raise typer.Exit(1 if report.failures else 0)


def gc(
    data_dir: Path | None = DataDirOption,
    grace_minutes: int = typer.Option(
        60, "--grace-minutes", help="Leave blobs younger than this (uploads in flight)."
    ),
) -> None:
    """Remove blobs that no version refers to (left behind by crashes) and abandoned partial uploads."""
    from datetime import timedelta

    runtime = open_runtime(load_settings(data_dir))
    from strongroom.content import maintenance
    from strongroom.jobs import tasks
    from strongroom.sharing import upload_submissions

    # Abandoned uploads first, so the blobs they held are gone (or orphaned) before the sweep below.
    uploads, submissions = tasks.reap_abandoned_uploads(runtime)
    typer.echo(f"removed {uploads} expired uploads and the chunks of {submissions} abandoned submissions")
    from strongroom.cli.progress import bar

    with bar("Removing unused stored data") as removing:
        removed = maintenance.collect_orphan_blobs(
            runtime.sessions,
            runtime.blobs,
            clock=runtime.clock,
            grace=timedelta(minutes=grace_minutes),
            keep=upload_submissions.referenced_blob_keys,
            progress=removing.done,
        )
    typer.echo(f"removed {len(removed)} orphan blobs")
