"""provider nodes and product query policies

Revision ID: 0200
Revises: 0100
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0200"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_nodes",
        sa.Column("account_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("node_id", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("url", sqltypes.AutoString(length=500), nullable=False),
        sa.Column("public_key", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("registered_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("node_id"),
    )
    op.create_table(
        "query_policies",
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("noise", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("min_group_size", sa.Integer(), nullable=False),
        sa.Column("default_epsilon", sa.Float(), nullable=False),
        sa.Column("default_delta", sa.Float(), nullable=False),
        sa.Column("updated_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("product_id"),
    )


def downgrade() -> None:
    op.drop_table("query_policies")
    op.drop_table("provider_nodes")
