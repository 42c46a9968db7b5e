"""strongroom doctor: look over an installation and say, for each part, OK, WARN or FAIL and what to fix.

It reads and probes but changes nothing an operator cares about (the blob probe writes and deletes
one 5-byte blob); it never creates keys or migrates, so it is safe to run against a live server.
"""

import ipaddress
import shutil
import stat
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Final

import typer
from sqlalchemy import Engine, text

from strongroom import health
from strongroom.config import Settings
from strongroom.db.migrate import Schema, schema_state
from strongroom.db.session import make_engine
from strongroom.errors import StrongroomError
from strongroom.storage.blob_backends.by_url import configured_blob_store, describe_blob_store
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.key_providers.opening import describe as describe_keys
from strongroom.storage.key_providers.opening import open_key_provider
from strongroom.storage.key_providers.signing_file import FileAuditSigningKey

CLOCK_WARN_SECONDS: Final = 1.0
CLOCK_FAIL_SECONDS: Final = 5.0
"""Expiry of links, tokens and sessions and the audit trail's times are decided by the server's clock
against the database's; a few seconds apart already shows as events out of order."""
SPACE_FAIL_BYTES: Final = 1 << 30
SPACE_WARN_FRACTION: Final = 0.10


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    level: Level
    name: str
    message: str
    fix: str = ""


def _settings(data_dir: Path | None) -> tuple[Settings, str | None]:
    """The settings, even ones `serve` would refuse as insecure: those are what doctor must report."""
    values: dict[str, object] = {} if data_dir is None else {"data_dir": data_dir}
    try:
        return Settings(**values), None  # type: ignore[arg-type]  # pydantic validates
    except ValueError as exc:
        if "insecure settings refused" not in str(exc):
            typer.echo(f"FAIL  settings: {exc}", err=True)
            raise typer.Exit(1) from exc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Settings(**{**values, "dev_mode": True}), str(exc)  # type: ignore[arg-type]


def _insecure(settings: Settings, refused: str | None) -> Iterator[Finding]:
    if refused:
        yield Finding(Level.FAIL, "settings", "`strongroom serve` refuses them", refused.split(": ", 1)[-1])
    elif settings.dev_mode:
        yield Finding(
            Level.WARN,
            "dev mode",
            "on: insecure settings only warn",
            "unset STRONGROOM_DEV_MODE in production",
        )
    url = settings.public_url
    if url.startswith("http://"):
        level = Level.WARN if settings.dev_mode or refused is None else Level.FAIL
        yield Finding(
            level,
            "public URL",
            f"{url} is plain HTTP: links and sign-ins would travel unencrypted or only work on this host",
            "set [server] public_url to the https:// address users reach (behind a TLS proxy)",
        )
    else:
        yield Finding(Level.OK, "public URL", url)
    for label, path in (
        ("key file", settings.key_file),
        ("audit signing key file", settings.signing_key_file),
        ("session secret", settings.data_dir / "secret_key"),
    ):
        if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            mode = oct(path.stat().st_mode & 0o777)
            yield Finding(
                Level.FAIL, label, f"{path} is readable by other users ({mode})", f"chmod 600 {path}"
            )


def _keys(settings: Settings) -> Iterator[Finding]:
    escrow = "restore it from the key escrow (docs/ops/backup.md); never start without it on existing data"
    try:
        keys = open_key_provider(settings, create=False)
    except StrongroomError as exc:
        yield Finding(Level.FAIL, "keys", exc.message, escrow)
        return
    probe = health.check_keys(keys)
    if probe.ok:
        yield Finding(
            Level.OK, "keys", f"{describe_keys(settings)} usable, current key {keys.current_kek_id()}"
        )
    else:
        yield Finding(Level.FAIL, "keys", f"cannot wrap and unwrap a data key ({probe.detail})", escrow)
    try:
        FileAuditSigningKey.open(settings.signing_key_file, create=False)
    except StrongroomError as exc:
        if isinstance(keys, FileKeyProvider) and keys.legacy_signing_key() is not None:
            yield Finding(
                Level.OK, "audit signing key", "still in the key file; moves to its own on next start"
            )
        else:
            yield Finding(Level.FAIL, "audit signing key", exc.message, escrow)
    else:
        yield Finding(Level.OK, "audit signing key", f"{settings.signing_key_file} readable")


def _database(settings: Settings) -> Iterator[Finding]:
    embedded = settings.database.url is None
    if embedded and not (settings.data_dir / "strongroom.db").exists():
        yield Finding(
            Level.FAIL, "database", f"no database in {settings.data_dir}", "start `strongroom serve` once"
        )
        return
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        try:
            state = schema_state(engine)
        except Exception as exc:  # any driver error: report it, never a traceback
            yield Finding(
                Level.FAIL, "database", f"cannot reach it ({exc.__class__.__name__})", "check [database] url"
            )
            return
        if state.schema is Schema.CURRENT:
            yield Finding(Level.OK, "migrations", f"schema at {state.head}")
        else:
            where = ", ".join(state.revisions) or "(empty)"
            fix = (
                "run the Strongroom version that migrated it"
                if state.schema is Schema.AHEAD
                else "back up, then `strongroom db upgrade`"
            )
            yield Finding(
                Level.FAIL, "migrations", f"schema {where} is {state.schema}; needs {state.head}", fix
            )
        yield _clock(engine)
    finally:
        engine.dispose()


def _clock(engine: Engine) -> Finding:
    if engine.dialect.name != "postgresql":
        return Finding(Level.OK, "clock", "the embedded database shares this host's clock")
    before = time.time()
    with engine.connect() as connection:
        db_now: datetime = connection.execute(text("SELECT now()")).scalar_one()
    after = time.time()
    # now() is the transaction's start: somewhere between before and after, the midpoint is fairest.
    skew = db_now.astimezone(UTC).timestamp() - (before + after) / 2
    fix = "run NTP (chrony, systemd-timesyncd) on this host and the database host"
    message = f"this host and the database differ by {skew:+.1f} s"
    if abs(skew) > CLOCK_FAIL_SECONDS:
        return Finding(Level.FAIL, "clock", message, fix)
    if abs(skew) > CLOCK_WARN_SECONDS:
        return Finding(Level.WARN, "clock", message, fix)
    return Finding(Level.OK, "clock", message)


def _blobs(settings: Settings) -> Iterator[Finding]:
    try:
        store = configured_blob_store(settings)
    except StrongroomError as exc:
        yield Finding(Level.FAIL, "blob store", exc.message, "check the blob directory's disk and owner")
        return
    probe = health.check_blob_store(store)
    if probe.ok:
        yield Finding(Level.OK, "blob store", f"{describe_blob_store(settings)} writable")
    else:
        yield Finding(
            Level.FAIL,
            "blob store",
            f"{describe_blob_store(settings)}: a test blob could not be written and read back "
            f"({probe.detail})",
            "check the disk is mounted read-write, not full, and owned by the server's account"
            if not settings.blobs.url
            else "check the endpoint, the credentials (AWS_*, AZURE_STORAGE_CONNECTION_STRING) and "
            "that the bucket or container exists and this account may write to it",
        )


def _proxies(settings: Settings) -> Iterator[Finding]:
    trusted = settings.server.trusted_proxies
    if not trusted:
        yield Finding(Level.OK, "trusted proxies", "none: the socket's address is the client's")
        return
    problems = [finding for entry in trusted if (finding := _proxy_problem(entry)) is not None]
    yield from problems or [Finding(Level.OK, "trusted proxies", ", ".join(trusted))]


def _proxy_problem(entry: str) -> Finding | None:
    network = ipaddress.ip_network(entry, strict=False)
    if network.prefixlen == 0:
        return Finding(
            Level.FAIL,
            "trusted proxies",
            f"{entry} trusts every address: any client can forge its X-Forwarded-For and audited IP",
            "list only the reverse proxies' own addresses in [server] trusted_proxies",
        )
    if network.is_global and network.num_addresses > (256 if network.version == 4 else 1 << 80):
        return Finding(
            Level.WARN,
            "trusted proxies",
            f"{entry} is a wide public network: every host in it may claim any client address",
            "narrow it to the reverse proxies' addresses",
        )
    return None


def _space(settings: Settings) -> Iterator[Finding]:
    # An object store's space is the provider's business: only a local blob folder has a disk here.
    places = [] if settings.blobs_in_object_store else [("blob disk", settings.blob_path)]
    if settings.database.url is None:
        places.append(("database disk", settings.data_dir))
    for label, path in places:
        try:
            usage = shutil.disk_usage(path)
        except OSError as exc:
            yield Finding(Level.FAIL, label, f"{path}: {exc.strerror}")
            continue
        free = f"{usage.free / (1 << 30):.1f} GiB free of {usage.total / (1 << 30):.1f} GiB at {path}"
        if usage.free < SPACE_FAIL_BYTES:
            yield Finding(
                Level.FAIL, label, free, "free space or grow the disk: uploads fail when it is full"
            )
        elif usage.free < usage.total * SPACE_WARN_FRACTION:
            yield Finding(Level.WARN, label, free, "plan more space")
        else:
            yield Finding(Level.OK, label, free)
    if settings.database.url is not None:
        yield Finding(Level.OK, "database disk", "on the database server: watch its free space there")


# Outside tools: each missing one costs a feature, not the service, so doctor warns.
TOOLS: Final = (
    ("ffmpeg", "ffmpeg", "previews of audio, video and images", "apt-get install ffmpeg"),
    (
        "LibreOffice",
        "soffice",
        "previews of Word, Excel, PowerPoint and OpenDocument files",
        "apt-get install libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui",
    ),
)
DEJAVU: Final = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _tools() -> Iterator[Finding]:
    for label, command, feature, fix in TOOLS:
        where = shutil.which(command)
        if where is None:
            yield Finding(Level.WARN, label, f"not installed: no {feature}", fix)
        else:
            yield Finding(Level.OK, label, f"{where} ({feature})")
    if DEJAVU.is_file():
        yield Finding(Level.OK, "report fonts", f"DejaVu at {DEJAVU.parent} (chain-of-custody reports)")
    else:
        fix = "apt-get install fonts-dejavu-core"
        yield Finding(
            Level.WARN, "report fonts", "DejaVu missing: chain-of-custody reports cannot be made", fix
        )


def run(data_dir: Path | None) -> None:
    """Run every check, print each finding and exit 1 on any FAIL."""
    settings, refused = _settings(data_dir)
    findings = [*_insecure(settings, refused), *_keys(settings), *_database(settings)]
    findings += [*_blobs(settings), *_proxies(settings), *_space(settings)]
    findings += [*_tools()]
    from strongroom.cli import doctor_sso  # its own module: single sign-on's checks

    findings += doctor_sso.checks(settings)
    for finding in findings:
        typer.echo(f"{finding.level.value:<4}  {finding.name}: {finding.message}")
        if finding.fix:
            typer.echo(f"      fix: {finding.fix}")
    failed = sum(f.level is Level.FAIL for f in findings)
    warned = sum(f.level is Level.WARN for f in findings)
    typer.echo(f"{failed} failed, {warned} warnings, {len(findings) - failed - warned} ok")
    raise typer.Exit(1 if failed else 0)
