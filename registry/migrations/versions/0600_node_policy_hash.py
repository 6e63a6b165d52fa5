"""Provider nodes register the hash of the signed policy they enforce.

Revision ID: 0600
Revises: 0500
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0600"
down_revision = "0500"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_nodes") as batch:
        batch.add_column(sa.Column("policy_hash", sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_nodes") as batch:
        batch.drop_column("policy_hash")
