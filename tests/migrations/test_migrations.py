"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from strongroom.db.migrate import (
    Schema,
    alembic_config,
    current_revisions,
    downgrade,
    head_revision,
    schema_state,
    upgrade,
)
from strongroom.db.models import metadata
from strongroom.db.session import make_engine
from strongroom.search.models import include_name


def test_migrated_database_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            diff = compare_metadata(context, metadata)
            heads = set(context.get_current_heads())
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
    assert heads == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_every_table_has_a_named_primary_key(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        inspector = inspect(engine)
        for table in inspector.get_table_names():
            if table == "alembic_version" or not include_name(table, "table", {}):
                continue  # SQLite's FTS5 tables (search/models.py UNMODELLED) are not ours to shape
            assert inspector.get_pk_constraint(table)["constrained_columns"], table
    finally:
        engine.dispose()


def test_there_is_one_head() -> None:
    """Every new migration follows one line; a second head means two changes forgot each other."""
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_every_migration_downgrades_and_upgrades_again(empty_database_url: str) -> None:
    """An operator who must roll back a release can: each step down works, and up again after it."""
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        assert schema_state(engine).schema is Schema.CURRENT
        downgrade(engine, "base")
        assert _tables(engine) == set(), "base must leave no table behind"
        # Each migration on its own, oldest first: up to it, down past it, and up again.
        script = ScriptDirectory.from_config(alembic_config())
        for step in reversed(list(script.walk_revisions())):
            upgrade(engine, step.revision)
            parents = step.down_revision
            if isinstance(parents, tuple):
                continue  # a merge point changes nothing; its parents are stepped on their own
            downgrade(engine, parents or "base")
            assert step.revision not in current_revisions(engine)
            upgrade(engine, step.revision)
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}),
                metadata,
            )
        assert diff == [], f"upgrade after a full downgrade left: {diff}"
        assert schema_state(engine).schema is Schema.CURRENT
    finally:
        engine.dispose()


def test_an_empty_and_an_old_database_are_told_apart(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert schema_state(engine).schema is Schema.EMPTY
        upgrade(engine, "0001_core")
        state = schema_state(engine)
        assert state.schema is Schema.BEHIND
        assert state.revisions == ("0001_core",)
        assert state.head == head_revision()
    finally:
        engine.dispose()


def test_the_head_read_from_the_scripts_is_the_head_alembic_finds() -> None:
    # Start-up compares the database with this head without importing alembic (issue 14).
    assert [head_revision()] == ScriptDirectory.from_config(alembic_config()).get_heads()
