"""blob integrity: the owner of a tus lease, pending-blob records for the orphan collector, scrub position

Revision ID: 0008_blobs
Revises: 0008_http
Create Date: 2026-12-01 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0008_blobs"
down_revision: str | None = "0008_http"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_blob",
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blob_key", name=op.f("pk_pending_blob")),
    )
    op.create_table(
        "scrub_position",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_id", sa.String(length=26), nullable=False),
        sa.Column("updated_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scrub_position")),
    )
    with op.batch_alter_table("tus_upload", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tus_upload", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
    op.drop_table("scrub_position")
    op.drop_table("pending_blob")
