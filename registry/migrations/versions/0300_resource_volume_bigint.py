"""Resource volume as BIGINT: the API accepts up to 10^15 rows, beyond PostgreSQL's INTEGER.

Revision ID: 0300
Revises: 0200
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300"
down_revision = "0200"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.alter_column("volume", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.alter_column("volume", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
