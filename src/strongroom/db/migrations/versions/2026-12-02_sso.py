"""single sign-on: linked provider accounts, sign-ins in flight, the SAML assertion replay cache

Revision ID: 0009_sso
Revises: 0009_share
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0009_sso"
down_revision: str | None = "0009_share"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_identity",
        sa.Column("provider", sa.String(length=400), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("linked_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_sso_identity_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("provider", "subject", name=op.f("pk_sso_identity")),
    )
    with op.batch_alter_table("sso_identity", schema=None) as batch_op:
        batch_op.create_index("ix_sso_identity_user_id", ["user_id"], unique=False)
    op.create_table(
        "sso_request",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=True),
        sa.Column("nonce", sa.String(length=100), nullable=True),
        sa.Column("code_verifier", sa.String(length=200), nullable=True),
        sa.Column("next_url", sa.String(length=2000), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.String(length=26), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_request")),
    )
    op.create_table(
        "sso_replay",
        sa.Column("assertion_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("assertion_id", name=op.f("pk_sso_replay")),
    )


def downgrade() -> None:
    op.drop_table("sso_replay")
    op.drop_table("sso_request")
    with op.batch_alter_table("sso_identity", schema=None) as batch_op:
        batch_op.drop_index("ix_sso_identity_user_id")
    op.drop_table("sso_identity")
