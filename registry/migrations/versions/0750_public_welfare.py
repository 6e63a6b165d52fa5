"""Use categories: accounts the authority names for public-welfare use, and the use each order and license
declares (registry.trading.public_welfare).

Revision ID: 0750
Revises: 0710
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0750"
down_revision = "0710"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_welfare_users",
        sa.Column("chain_state", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tx_hash", sqltypes.AutoString(length=66), nullable=True),
        sa.Column("block_number", sa.Integer(), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("address", sqltypes.AutoString(length=42), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reason", sqltypes.AutoString(length=500), nullable=False),
        sa.Column("authority_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("updated_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["authority_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    for table in ("orders", "licenses"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("use", sqltypes.AutoString(length=16), nullable=False,
                                       server_default="commercial"))
    op.create_index("ix_licenses_use", "licenses", ["use"])


def downgrade() -> None:
    op.drop_index("ix_licenses_use", "licenses")
    for table in ("orders", "licenses"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("use")
    op.drop_table("public_welfare_users")
