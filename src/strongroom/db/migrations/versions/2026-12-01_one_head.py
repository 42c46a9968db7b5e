"""one head: join the wave-1 branches so every later migration has one line to follow

Revision ID: 0007_one_head
Revises: 0003_audit, 0004_sharing, 0005_tus, 0006_dav, 0006_web
Create Date: 2026-12-01 21:55:00
"""

from collections.abc import Sequence

revision: str = "0007_one_head"
down_revision: str | Sequence[str] | None = ("0003_audit", "0004_sharing", "0005_tus", "0006_dav", "0006_web")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
