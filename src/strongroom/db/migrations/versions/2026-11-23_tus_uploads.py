"""tus uploads

Revision ID: 0005_tus
Revises: 0002_jobs
Create Date: 2026-11-23 06:07:12.409469
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base


revision: str = "0005_tus"
down_revision: str | None = "0002_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tus_upload",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_by_id", sa.String(length=26), nullable=False),
        sa.Column("folder_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("upload_metadata", sa.String(length=4096), nullable=True),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("blob_header", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_tail", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("file_id", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tus_upload")),
    )
    with op.batch_alter_table("tus_upload", schema=None) as batch_op:
        batch_op.create_index("ix_tus_upload_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tus_upload", schema=None) as batch_op:
        batch_op.drop_index("ix_tus_upload_expires_at")

    op.drop_table("tus_upload")
