"""skills: the processing log (skill_run) and sealed result cards (skill_card)

Revision ID: 0010_skills
Revises: 0009_accounts
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strongroom.db.base

revision: str = "0010_skills"
down_revision: str | Sequence[str] | None = "0009_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "skill_run",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("file_id", sa.String(length=26), nullable=False),
        sa.Column("skill", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["file_version.id"],
            name=op.f("fk_skill_run_version_id_file_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_run")),
    )
    op.create_index("uq_skill_run_version_skill", "skill_run", ["version_id", "skill"], unique=True)
    op.create_index(op.f("ix_skill_run_file_id"), "skill_run", ["file_id"], unique=False)
    op.create_table(
        "skill_card",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("run_id", sa.String(length=26), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("file_id", sa.String(length=26), nullable=False),
        sa.Column("skill", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", strongroom.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["skill_run.id"], name=op.f("fk_skill_card_run_id_skill_run"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["file_version.id"],
            name=op.f("fk_skill_card_version_id_file_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_card")),
    )
    op.create_index(op.f("ix_skill_card_run_id"), "skill_card", ["run_id"], unique=False)
    op.create_index(op.f("ix_skill_card_version_id"), "skill_card", ["version_id"], unique=False)
    op.create_index(op.f("ix_skill_card_file_id"), "skill_card", ["file_id"], unique=False)


def downgrade() -> None:
    op.drop_table("skill_card")
    op.drop_table("skill_run")
