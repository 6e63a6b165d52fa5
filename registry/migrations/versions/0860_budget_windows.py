"""Budget windows on licenses: the window, its start, and the lifetime counters at its start; the window each
charge was drawn from.

Revision ID: 0860
Revises: 0850
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0860"
down_revision = "0850"
branch_labels = None
depends_on = None

BASES = ("win_queries", "win_eps", "win_delta", "win_rho")


def upgrade() -> None:
    with op.batch_alter_table("licenses") as t:
        t.add_column(sa.Column("budget_window", sqltypes.AutoString(length=8), nullable=True))
        t.add_column(sa.Column("window_start", sqltypes.UTCDateTime(), nullable=True))
        for name in BASES:
            t.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("license_charges") as t:
        t.add_column(sa.Column("window_start", sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("license_charges") as t:
        t.drop_column("window_start")
    with op.batch_alter_table("licenses") as t:
        for name in reversed(BASES):
            t.drop_column(name)
        t.drop_column("window_start")
        t.drop_column("budget_window")
