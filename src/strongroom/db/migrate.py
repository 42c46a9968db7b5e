"""Bring a database to the newest schema (or back), and tell whether it is there.

Only `strongroom serve` on the embedded SQLite database and `strongroom db upgrade` change the schema;
every other command asks `schema_state` first and refuses to run on a database that is not at head.
"""

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache  # the migration scripts ship with the code: read once per process (/readyz asks often)
def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    # One line of migrations is a rule kept by tests/migrations; several heads would be a bug.
    return str(heads[0])


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revisions(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return tuple(str(r) for r in MigrationContext.configure(connection).get_current_heads())


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
