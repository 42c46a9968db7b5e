"""media scan state: why a version waits (scan detail), when it was last tried, and the file's state

Revision ID: 0008_media
Revises: 0007_one_head
Create Date: 2026-12-01 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0008_media"
down_revision: str | Sequence[str] | None = "0007_one_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("file_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scan_detail", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("scan_checked_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("scan_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_file_version_scan_status", ["scan_status"], unique=False)
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scan_status", sa.String(length=16), nullable=True))
    # The file's state is its current version's; fill it in for files stored before this revision.
    op.execute(
        "UPDATE item SET scan_status = (SELECT v.scan_status FROM file_version v "
        "WHERE v.id = item.current_version_id) WHERE kind = 'file'"
    )


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("scan_status")
    with op.batch_alter_table("file_version", schema=None) as batch_op:
        batch_op.drop_index("ix_file_version_scan_status")
        batch_op.drop_column("scan_attempts")
        batch_op.drop_column("scan_checked_at")
        batch_op.drop_column("scan_detail")
