"""search: an index of live subfolders by parent, for the visibility walk down the folder tree

Revision ID: 0011_search_subfolders
Revises: 0011_accounts_totp
Create Date: 2026-12-02 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_search_subfolders"
down_revision: str | Sequence[str] | None = "0011_accounts_totp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_FOLDER = "kind = 'folder' AND trashed_at IS NULL"


def upgrade() -> None:
    # Partial: a folder's live subfolders without reading its (many) files; SQLite otherwise builds an
    # automatic index over every item at each step of the recursive walk.
    op.create_index(
        "ix_item_live_subfolders",
        "item",
        ["parent_id"],
        sqlite_where=sa.text(LIVE_FOLDER),
        postgresql_where=sa.text(LIVE_FOLDER),
    )


def downgrade() -> None:
    op.drop_index("ix_item_live_subfolders", table_name="item")
