"""channels: whether an email channel's address is verified

Existing channels count as verified: they were sending before verification existed.

Revision ID: 8b1e4c2d7f90
Revises: 3ed91a1dc97a
Create Date: 2026-11-26 11:25:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b1e4c2d7f90"
down_revision: str | None = "3ed91a1dc97a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("email_verified")
