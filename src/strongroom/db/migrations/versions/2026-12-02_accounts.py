"""accounts: directory provisioning (SCIM) fields on users and groups, roles, provisioning tokens

Revision ID: 0009_accounts
Revises: 0009_sso
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0009_accounts"
down_revision: str | Sequence[str] | None = "0009_sso"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_name", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("user_name_key", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="local"))
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="user"))
        batch_op.add_column(sa.Column("scim_data", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("updated_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(op.f("uq_user_user_name_key"), ["user_name_key"])
        batch_op.create_index("ix_user_external_id", ["external_id"], unique=False)
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="local"))
        batch_op.add_column(sa.Column("scim_data", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("updated_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_user_group_external_id", ["external_id"], unique=False)
    op.create_table(
        "provisioning_token",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_provisioning_token_token_hash")),
    )
    op.create_table(
        "mfa_totp",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_mfa_totp_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_mfa_totp")),
    )
    op.create_table(
        "mfa_recovery_code",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_mfa_recovery_code_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_recovery_code")),
    )
    with op.batch_alter_table("mfa_recovery_code", schema=None) as batch_op:
        batch_op.create_index("ix_mfa_recovery_code_user_id", ["user_id"], unique=False)
    op.create_table(
        "mfa_security_key",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_mfa_security_key_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_security_key")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_mfa_security_key_credential_id")),
    )
    with op.batch_alter_table("mfa_security_key", schema=None) as batch_op:
        batch_op.create_index("ix_mfa_security_key_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("mfa_security_key")
    op.drop_table("mfa_recovery_code")
    op.drop_table("mfa_totp")
    op.drop_table("provisioning_token")
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.drop_index("ix_user_group_external_id")
        for column in ("updated_at", "version", "scim_data", "source"):
            batch_op.drop_column(column)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index("ix_user_external_id")
        batch_op.drop_constraint(op.f("uq_user_user_name_key"), type_="unique")
        for column in ("updated_at", "version", "scim_data", "role", "source", "external_id"):
            batch_op.drop_column(column)
        batch_op.drop_column("user_name_key")
        batch_op.drop_column("user_name")
