"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from strongroom.db.migrate import alembic_config
from strongroom.db.models import metadata
from strongroom.db.session import make_engine


def test_migrated_database_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
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
            if table == "alembic_version":
                continue
            assert inspector.get_pk_constraint(table)["constrained_columns"], table
    finally:
        engine.dispose()


def test_there_is_one_head() -> None:
    """Every new migration follows one line; a second head means two changes forgot each other."""
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
