"""Ledger records keep the recorder's signed promise made at write time (ledger.promises).

Revision ID: 0710
Revises: 0600
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0710"
down_revision = "0600"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_records") as batch:
        batch.add_column(sa.Column("promise", sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_records") as batch:
        batch.drop_column("promise")
