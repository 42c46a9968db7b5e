"""force-sized database: an index for the open-upload caps a new upload checks

Revision ID: 0011_force_indexes
Revises: 0011_search_subfolders
Create Date: 2026-12-02 06:00:00

Starting an upload counts the user's unfinished uploads (content/upload_caps.py). tus_upload keeps a
finished upload's row until it expires (a day), so at a force's rate it holds about a day's uploads, and
without an index every start read all of them (bench/bench_force.py). A partial index over the
unfinished rows stays as small as what is in flight.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_force_indexes"
down_revision: str | Sequence[str] | None = "0011_search_subfolders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tus_upload_open_by_creator",
        "tus_upload",
        ["created_by_id"],
        sqlite_where=sa.text("completed_at IS NULL"),
        postgresql_where=sa.text("completed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tus_upload_open_by_creator", table_name="tus_upload")
