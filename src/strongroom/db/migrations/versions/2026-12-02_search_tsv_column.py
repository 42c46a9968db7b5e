"""PostgreSQL keeps each search document's tsvector in a stored column, and the GIN index is on it

Revision ID: 0013_search_tsv_column
Revises: 0012_search2_doc_parent
Create Date: 2026-12-02 09:30:00

The GIN index was on an expression, so every match the search kept had its text parsed again: once to
recheck it against the query and once more for its rank (20,000 matches of a common word at 1,000,000
files). A generated column holds the parsed words (PostgreSQL computes it for existing rows here, and
for every insert and update after), so recheck and rank read it. SQLite's FTS5 table is unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_search_tsv_column"
down_revision: str | Sequence[str] | None = "0012_search2_doc_parent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WORDS = "to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(body, ''))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE search_document ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ({_WORDS}) STORED"
    )
    op.execute("DROP INDEX IF EXISTS ix_search_document_tsv")
    op.execute("CREATE INDEX ix_search_document_tsv ON search_document USING gin (search_tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_search_document_tsv")
    op.execute("ALTER TABLE search_document DROP COLUMN search_tsv")
    op.execute(f"CREATE INDEX ix_search_document_tsv ON search_document USING gin ({_WORDS})")
