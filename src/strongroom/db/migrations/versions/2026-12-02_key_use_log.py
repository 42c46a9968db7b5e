"""key-use log (every unwrap of a data key, counted per batch) and disposal records with their certificates

Revision ID: 0009_keys
Revises: 0008_blobs
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0009_keys"
down_revision: str | None = "0008_blobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_use",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("first_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=128), nullable=False),
        sa.Column("process", sa.String(length=64), nullable=False),
        sa.Column("unwraps", sa.Integer(), nullable=False),
        sa.Column("cached_uses", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_use")),
    )
    op.create_index("ix_key_use_blob_key", "key_use", ["blob_key"])
    op.create_index("ix_key_use_first_at", "key_use", ["first_at"])
    op.create_table(
        "disposal",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("purged_root_id", sa.String(length=26), nullable=False),
        sa.Column("item_id", sa.String(length=26), nullable=False),
        sa.Column("item_name", sa.String(length=1024), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("disposed_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disposed_by_id", sa.String(length=26), nullable=True),
        sa.Column("disposed_by_label", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("key_destroyed", sa.Boolean(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("certificate", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal")),
    )
    op.create_index("ix_disposal_batch", "disposal", ["batch"])
    op.create_index("ix_disposal_item_id", "disposal", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_disposal_item_id", table_name="disposal")
    op.drop_index("ix_disposal_batch", table_name="disposal")
    op.drop_table("disposal")
    op.drop_index("ix_key_use_first_at", table_name="key_use")
    op.drop_index("ix_key_use_blob_key", table_name="key_use")
    op.drop_table("key_use")
