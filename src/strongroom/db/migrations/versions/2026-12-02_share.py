"""share: a link's case or exhibit and owner notices, per-visitor download claims, batched notices

Revision ID: 0009_share
Revises: 0009_ui
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0009_share"
down_revision: str | None = "0009_ui"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shared_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about", sa.String(length=300), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("notify_owner", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "link_download_claim",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("link_id", sa.String(length=26), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("visitor_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["shared_link.id"],
            name=op.f("fk_link_download_claim_link_id_shared_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_download_claim")),
    )
    op.create_index("ix_link_download_claim_key", "link_download_claim", ["link_id", "target", "visitor_key"])
    op.create_table(
        "link_notice",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("link_id", sa.String(length=26), nullable=False),
        sa.Column("owner_id", sa.String(length=26), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("visitor", sa.String(length=320), nullable=False),
        sa.Column("at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["shared_link.id"],
            name=op.f("fk_link_notice_link_id_shared_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_notice")),
    )
    op.create_index("ix_link_notice_unsent", "link_notice", ["sent_at", "owner_id"])


def downgrade() -> None:
    op.drop_index("ix_link_notice_unsent", table_name="link_notice")
    op.drop_table("link_notice")
    op.drop_index("ix_link_download_claim_key", table_name="link_download_claim")
    op.drop_table("link_download_claim")
    with op.batch_alter_table("shared_link", schema=None) as batch_op:
        batch_op.drop_column("notify_owner")
        batch_op.drop_column("about")
