"""flips: the number of the check's last ping when it flipped

Alerts quote that ping, however late they are sent; before, they read the check's latest
ping at sending time, so a retried "down" could quote the recovery ping.

Revision ID: 3ed91a1dc97a
Revises: 457655658e0f
Create Date: 2026-11-26 10:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3ed91a1dc97a"
down_revision: str | None = "457655658e0f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_ping_n", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flips", schema=None) as batch_op:
        batch_op.drop_column("last_ping_n")
