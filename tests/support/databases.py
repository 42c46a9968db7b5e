"""Per-test databases cloned from a migrated template.

A file copy on SQLite; CREATE DATABASE ... TEMPLATE on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from strongroom.db.migrate import upgrade
from strongroom.db.session import make_engine

PG_ADMIN_URL = os.environ.get("STRONGROOM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_connect() -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(PG_ADMIN_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username or "postgres",
        dbname=url.database or "test",
        autocommit=True,
    )


@dataclass
class TemplateDatabase:
    kind: str
    location: str  # a file path (sqlite) or a database name (postgresql)

    def clone(self, directory: Path, *, name: str) -> tuple[str, Callable[[], None]]:
        if self.kind == "sqlite":
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / "strongroom.db"
            shutil.copyfile(self.location, target)
            return f"sqlite:///{target}", lambda: None
        with _pg_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.location}"')

        def drop() -> None:
            with _pg_connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return str(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)), drop

    def drop(self) -> None:
        if self.kind == "postgresql":
            with _pg_connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.location}" WITH (FORCE)')


def make_template(kind: str, directory: Path, *, worker: str) -> TemplateDatabase:
    if kind == "sqlite":
        path = directory / "template.db"
        url = f"sqlite:///{path}"
        location = str(path)
    elif kind == "postgresql":
        location = f"sr_template_{worker}_{os.getpid()}"
        with _pg_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{location}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{location}"')
        url = make_url(PG_ADMIN_URL).set(database=location).render_as_string(hide_password=False)
    else:
        msg = f"STRONGROOM_TEST_DB must be sqlite or postgresql, not {kind!r}"
        raise ValueError(msg)
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return TemplateDatabase(kind=kind, location=location)


def empty_database(kind: str, directory: Path, *, name: str) -> tuple[str, Callable[[], None]]:
    """A database with no schema at all, for the migrations themselves and for `strongroom db`."""
    if kind == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / 'empty.db'}", lambda: None
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with _pg_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return str(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)), drop
