"""search: metadata templates and values, search documents, and their full-text index

Revision ID: 0010_search
Revises: 0010_skills
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0010_search"
down_revision: str | Sequence[str] | None = "0010_skills"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The SQLite index: an FTS5 table over search_document (external content, rowid = doc_id), kept in
# step by triggers so that every writer, and cascading deletes of items, update it.
SQLITE_FTS = [
    (
        "CREATE VIRTUAL TABLE search_fts USING fts5(name, body, content='search_document', "
        "content_rowid='doc_id', tokenize='unicode61 remove_diacritics 2')"
    ),
    (
        "CREATE TRIGGER search_fts_ai AFTER INSERT ON search_document BEGIN "
        "INSERT INTO search_fts(rowid, name, body) VALUES (new.doc_id, new.name, new.body); END"
    ),
    (
        "CREATE TRIGGER search_fts_ad AFTER DELETE ON search_document BEGIN "
        "INSERT INTO search_fts(search_fts, rowid, name, body) VALUES ('delete', old.doc_id, old.name, old.body); END"
    ),
    (
        "CREATE TRIGGER search_fts_au AFTER UPDATE ON search_document BEGIN "
        "INSERT INTO search_fts(search_fts, rowid, name, body) VALUES ('delete', old.doc_id, old.name, old.body); "
        "INSERT INTO search_fts(rowid, name, body) VALUES (new.doc_id, new.name, new.body); END"
    ),
]
# The PostgreSQL index: the same expression the search query uses (search/engine.py TSV).
POSTGRES_GIN = (
    "CREATE INDEX ix_search_document_tsv ON search_document USING gin "
    "(to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(body, '')))"
)


def upgrade() -> None:
    op.create_table(
        "metadata_template",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.String(length=26), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_template")),
        sa.UniqueConstraint("key", name=op.f("uq_metadata_template_key")),
    )
    op.create_table(
        "item_metadata",
        sa.Column("item_id", sa.String(length=26), nullable=False),
        sa.Column("template_id", sa.String(length=26), nullable=False),
        sa.Column("values", sa.Text(), nullable=False),
        sa.Column("updated_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_metadata_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["metadata_template.id"],
            name=op.f("fk_item_metadata_template_id_metadata_template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "template_id", name=op.f("pk_item_metadata")),
    )
    op.create_table(
        "metadata_value",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=26), nullable=False),
        sa.Column("template_key", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("text_value", sa.String(length=1000), nullable=True),
        sa.Column("number_value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_metadata_value_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_value")),
    )
    op.create_index("ix_metadata_value_item_id", "metadata_value", ["item_id"])
    op.create_index("ix_metadata_value_text", "metadata_value", ["template_key", "field", "text_value"])
    op.create_index("ix_metadata_value_number", "metadata_value", ["template_key", "field", "number_value"])
    op.create_table(
        "search_document",
        sa.Column("doc_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_search_document_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_search_document")),
        sa.UniqueConstraint("item_id", name=op.f("uq_search_document_item_id")),
    )
    op.create_table(
        "search_text",
        sa.Column("item_id", sa.String(length=26), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_search_text_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "source", name=op.f("pk_search_text")),
    )
    op.create_index("ix_item_owner_id", "item", ["owner_id"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(POSTGRES_GIN)
    # Items that exist already get a document with their name.
    op.execute("INSERT INTO search_document (item_id, name, body) SELECT id, name, '' FROM item")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_fts_ai", "search_fts_ad", "search_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_search_document_tsv")
    op.drop_index("ix_item_owner_id", table_name="item")
    op.drop_table("search_text")
    op.drop_table("search_document")
    op.drop_index("ix_metadata_value_number", table_name="metadata_value")
    op.drop_index("ix_metadata_value_text", table_name="metadata_value")
    op.drop_index("ix_metadata_value_item_id", table_name="metadata_value")
    op.drop_table("metadata_value")
    op.drop_table("item_metadata")
    op.drop_table("metadata_template")
