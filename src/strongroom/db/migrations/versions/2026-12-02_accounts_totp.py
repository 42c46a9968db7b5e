"""accounts_totp: authenticator app secrets sealed by the key provider

The clear `secret` column stays (nullable) for rows made before this revision: the key provider is
not at hand during a migration, so the application seals them at server start, before a key rotation
(`strongroom keys rotate`) and at their next use (`identity.mfa.seal_clear_secrets`).

Revision ID: 0011_accounts_totp
Revises: 0010_search
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_accounts_totp"
down_revision: str | Sequence[str] | None = "0010_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mfa_totp", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_secret", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("blob_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("kek_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("wrapped_dek", sa.LargeBinary(), nullable=True))
        batch_op.alter_column("secret", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # A sealed secret cannot be opened here (no key provider): those enrolments are dropped, and their
    # users set up their authenticator app again (recovery codes still sign them in).
    op.execute("DELETE FROM mfa_totp WHERE secret IS NULL")
    with op.batch_alter_table("mfa_totp", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("wrapped_dek")
        batch_op.drop_column("kek_id")
        batch_op.drop_column("blob_key")
        batch_op.drop_column("sealed_secret")
