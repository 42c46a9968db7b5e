"""Bring a database to the newest schema (or back), and tell whether it is there.

Only `strongroom serve` on the embedded SQLite database and `strongroom db upgrade` change the schema;
every other command asks `schema_state` first and refuses to run on a database that is not at head.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported by the functions that change or walk the schema: a server starting on a schema
# already at head (the usual case) never loads it (about half a second of start-up, issue 14).

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


_REVISION = re.compile(r"^revision(?:: str)? = [\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*= (.+)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


@cache  # the migration scripts ship with the code: read once per process (/readyz asks often)
def head_revision() -> str:
    """The newest revision, read from the scripts' `revision` / `down_revision` lines without
    importing alembic (tests/migrations checks it names the head alembic finds)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        for down in _DOWN_REVISION.findall(source):
            parents.update(_QUOTED.findall(down))
    heads = sorted(revisions - parents)
    # One line of migrations is a rule kept by tests/migrations; several heads would be a bug.
    if len(heads) != 1:
        msg = f"the migration scripts have {len(heads)} heads: {heads}"
        raise RuntimeError(msg)
    return heads[0]


def is_at_head(engine: Engine) -> bool:
    """Whether the database's schema is this code's head (a cheap check: no alembic)."""
    return current_revisions(engine) == (head_revision(),)


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions alembic recorded in the database (its `alembic_version` table); () before any."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return ()
        rows = connection.execute(text("SELECT version_num FROM alembic_version"))
        return tuple(sorted(str(row[0]) for row in rows))


class Schema(StrEnum):
    CURRENT = "current"
    EMPTY = "empty"  # never migrated
    BEHIND = "behind"  # an older Strongroom's schema: `strongroom db upgrade`
    AHEAD = "ahead"  # a newer Strongroom migrated it: this one must not write to it


@dataclass(frozen=True)
class SchemaState:
    schema: Schema
    revisions: tuple[str, ...]
    head: str


def schema_state(engine: Engine) -> SchemaState:
    """Where the database stands against this code's migrations (raises if it cannot be reached)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    head = head_revision()
    revisions = current_revisions(engine)
    if not revisions:
        return SchemaState(Schema.EMPTY, revisions, head)
    if revisions == (head,):
        return SchemaState(Schema.CURRENT, revisions, head)
    known = {r.revision for r in script.walk_revisions()}
    schema = Schema.BEHIND if all(r in known for r in revisions) else Schema.AHEAD
    return SchemaState(schema, revisions, head)
