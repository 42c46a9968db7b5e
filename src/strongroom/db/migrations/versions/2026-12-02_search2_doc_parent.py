"""search documents carry their item's folder, so a search drops unseen matches without reading items

Revision ID: 0012_search2_doc_parent
Revises: 0011_force_indexes
Create Date: 2026-12-02 06:30:00

A common word matches far more documents than a user may see (20,000 matches, 2,000 visible at
1,000,000 files); testing each match read its item row. With the folder beside the document, matches
outside the folders the user reaches are dropped first, and only the rest are looked up (and tested in
full, against the live item rows). search/indexing.py keeps the column in step on create and move. The
SQLite FTS5 update trigger now fires only for name and body, so a move does not re-index the text.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012_search2_doc_parent"
down_revision: str | Sequence[str] | None = "0011_force_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGER_BODY = (
    "INSERT INTO search_fts(search_fts, rowid, name, body) VALUES ('delete', old.doc_id, old.name, old.body); "
    "INSERT INTO search_fts(rowid, name, body) VALUES (new.doc_id, new.name, new.body); END"
)


def upgrade() -> None:
    op.add_column("search_document", sa.Column("parent_id", sa.String(26), nullable=True))
    op.execute(
        "UPDATE search_document SET parent_id = (SELECT i.parent_id FROM item i WHERE i.id = search_document.item_id)"
    )
    op.create_index("ix_search_document_parent_id", "search_document", ["parent_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_fts_au")
        op.execute(
            f"CREATE TRIGGER search_fts_au AFTER UPDATE OF name, body ON search_document BEGIN {_TRIGGER_BODY}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_fts_au")
        op.execute(f"CREATE TRIGGER search_fts_au AFTER UPDATE ON search_document BEGIN {_TRIGGER_BODY}")
    op.drop_index("ix_search_document_parent_id", table_name="search_document")
    with op.batch_alter_table("search_document") as batch:
        batch.drop_column("parent_id")
