"""strongroom backup / restore: the embedded installation (SQLite, local blobs, key files) copied safely.

Order matters. The database is snapshotted first (SQLite's online backup API: a consistent copy while
the server writes), then the blobs are copied, so every blob the snapshot refers to already existed
when the copy began; and while the copy runs the blob store deletes nothing (`deletions_held_during`),
so none of them can vanish before its turn. The keys go to their own folder, to be escrowed apart:
whoever holds the data and the keys together holds the evidence in clear.

PostgreSQL deployments follow the same order with pg_dump (docs/ops/backup.md).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import typer

from strongroom import __version__
from strongroom.cli.common import DataDirOption, fail, load_settings
from strongroom.storage.blob_backends.local import BACKUP_HOLD, PARTIAL_DIR, deletions_held_during

if TYPE_CHECKING:
    from strongroom.config import Settings

DATABASE_FILE: Final = "strongroom.db"
KEY_FILES: Final = ("keys.json", "audit-signing-key.json", "secret_key")
TOUCH_EVERY: Final = 500  # files copied between refreshes of the deletion hold
REFERENCED_BLOBS: Final = (
    "SELECT blob_key FROM file_version",
    "SELECT blob_key FROM file_rendition WHERE blob_key IS NOT NULL",
    "SELECT blob_key FROM submission_chunk",
)


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)


def backup(
    dest: Path = typer.Argument(..., help="A new or empty folder; gets data/, keys/ and manifest.json."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Back up a SQLite installation while it runs: database snapshot, then blobs, then keys apart."""
    settings = load_settings(data_dir)
    database = _sqlite_file(settings)
    _require_empty(dest)
    data, keys = dest / "data", dest / "keys"
    data.mkdir(parents=True)
    settings.blob_path.mkdir(parents=True, exist_ok=True)
    with deletions_held_during(settings.blob_path) as hold:
        revision = _snapshot(database, data / DATABASE_FILE)
        count, size = _copy_blobs(settings.blob_path, data / "blobs", hold)
    missing = _missing_blobs(data / DATABASE_FILE, data / "blobs")
    keys.mkdir(mode=0o700)
    held = [_copy_private(source, keys / name) for name, source in _key_sources(settings) if source.exists()]
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "strongroom_version": __version__,
        "schema_revision": revision,
        "blobs": count,
        "blob_bytes": size,
        "key_files": held,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    typer.echo(f"database snapshot at schema {revision}, {count} blobs ({size} bytes) -> {data}")
    typer.echo(f"keys ({', '.join(held)}) -> {keys}: escrow this folder apart from {data}")
    if missing:
        typer.echo(f"error: {len(missing)} blobs the database refers to are missing: {missing[:5]}", err=True)
        raise typer.Exit(1)


def restore(
    src: Path = typer.Argument(..., help="A folder made by `strongroom backup`."),
    data_dir: Path = typer.Option(..., "--data-dir", help="A new or empty data directory to restore into."),
    keys_from: Path | None = typer.Option(
        None, "--keys", help="The escrowed keys folder (default: SRC/keys)."
    ),
) -> None:
    """Restore a backup into a fresh data directory (the embedded layout); then run `strongroom verify`."""
    database = src / "data" / DATABASE_FILE
    keys = keys_from or src / "keys"
    if not database.is_file():
        raise fail(f"{database} is missing: SRC must be a folder made by `strongroom backup`")
    if not (keys / "keys.json").is_file():
        raise fail(f"{keys / 'keys.json'} is missing: without the keys no file can be read (--keys DIR)")
    _require_empty(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _snapshot(database, data_dir / DATABASE_FILE)
    blobs = src / "data" / "blobs"
    if blobs.is_dir():
        shutil.copytree(blobs, data_dir / "blobs")
    for name in KEY_FILES:
        if (keys / name).is_file():
            _copy_private(keys / name, data_dir / name)
    typer.echo(f"restored into {data_dir}; check it with `strongroom verify --data-dir {data_dir}`")


def _sqlite_file(settings: Settings) -> Path:
    from sqlalchemy.engine import make_url  # imported here: `strongroom --help` stays light

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise fail(
            "`strongroom backup` copies the embedded SQLite database; for PostgreSQL use pg_dump, then "
            "copy the blobs and escrow the keys in that order (docs/ops/backup.md)"
        )
    path = Path(url.database)
    if not path.is_file():
        raise fail(f"there is no database at {path}")
    if settings.blobs_in_object_store:
        raise fail(
            f"blobs are in {settings.blobs.url}: back the store up with its own versioning or replication "
            "(after the database, keys escrowed apart; docs/ops/backup.md); `strongroom backup` copies a "
            "local blob folder"
        )
    return path


def _require_empty(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise fail(f"{path} exists and is not empty: choose a new folder")


def _snapshot(source: Path, target: Path) -> str:
    """A consistent copy of a live SQLite database (the online backup API), checked; returns its schema."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        (check,) = dst.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise fail(f"the copied database fails SQLite's integrity check: {check}")
        row = dst.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        dst.close()
        src.close()
    _fsync(target)
    return str(row[0]) if row else "(empty)"


def _copy_blobs(root: Path, target: Path, hold: Path) -> tuple[int, int]:
    """Every finished blob and resumable upload; partial writes (never referenced) are left out."""
    count = size = 0
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        if here == root:
            subdirs[:] = [d for d in subdirs if d != PARTIAL_DIR]
        for name in files:
            if here == root and name == BACKUP_HOLD:
                continue
            source = here / name
            destination = target / source.relative_to(root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(source, destination)
            except FileNotFoundError:
                continue  # a resumable upload finished meanwhile: its blob is copied under its key
            _fsync(destination)
            count += 1
            size += destination.stat().st_size
            if count % TOUCH_EVERY == 0:
                os.utime(hold)  # a long copy keeps its hold fresh
    return count, size


def _missing_blobs(database: Path, blobs: Path) -> list[str]:
    connection = sqlite3.connect(database)
    try:
        keys = {str(row[0]) for query in REFERENCED_BLOBS for row in connection.execute(query)}
    finally:
        connection.close()
    return sorted(k for k in keys if not (blobs / k[0:2] / k[2:4] / k).is_file())


def _key_sources(settings: Settings) -> list[tuple[str, Path]]:
    sources = (settings.key_file, settings.signing_key_file, settings.data_dir / "secret_key")
    return list(zip(KEY_FILES, sources, strict=True))


def _copy_private(source: Path, target: Path) -> str:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())
        handle.flush()
        os.fsync(handle.fileno())
    return target.name


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
