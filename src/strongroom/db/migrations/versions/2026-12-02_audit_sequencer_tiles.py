"""audit: pending events chained by the sequencer, stored Merkle tiles

Revision ID: 0009_audit
Revises: 0009_keys
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0009_audit"
down_revision: str | None = "0009_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("item_kind", sa.String(length=32), nullable=True),
        sa.Column("item_id", sa.String(length=26), nullable=True),
        sa.Column("item_name", sa.String(length=1024), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
    )
    op.create_table(
        "audit_tile",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tile")),
    )
    # Tiles for the events already chained, so proofs into existing checkpoints keep working.
    from strongroom.audit import tiles

    bind = op.get_bind()
    hashes = list(bind.execute(sa.text("SELECT hash FROM audit_event ORDER BY seq")).scalars())
    tiles.rebuild(bind, hashes)


def downgrade() -> None:
    # Events still pending are chained before this runs (`strongroom audit` commands, any commit), or
    # they would be lost with the table: refuse rather than lose them.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM audit_pending")).scalar():
        msg = "audit_pending still holds events: start the server once to chain them, then downgrade"
        raise RuntimeError(msg)
    op.drop_table("audit_tile")
    op.drop_table("audit_pending")
