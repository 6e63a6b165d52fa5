"""Data-asset evidence: the costs operators declare per product (registry.assets).

Revision ID: 0760
Revises: 0720
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0760"
down_revision = "0720"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "declared_costs",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("operator_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("incurred_on", sqltypes.AutoString(length=10), nullable=False),
        sa.Column("category", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("description", sqltypes.AutoString(length=500), nullable=False),
        sa.Column("evidence_hash", sqltypes.AutoString(length=64), nullable=True),
        sa.Column("corrects_id", sqltypes.AutoString(length=36), nullable=True),
        sa.Column("record_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.ForeignKeyConstraint(["operator_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("corrects_id"),
    )
    op.create_index("ix_declared_costs_product_id", "declared_costs", ["product_id"])


def downgrade() -> None:
    op.drop_index("ix_declared_costs_product_id", "declared_costs")
    op.drop_table("declared_costs")
