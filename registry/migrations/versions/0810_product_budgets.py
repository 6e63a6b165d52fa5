"""The product-wide privacy budget: spent by all buyers together, and its cap.

Revision ID: 0810
Revises: 0800
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0810"
down_revision = "0800"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_budgets",
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("eps_cap", sa.BigInteger(), nullable=True),
        sa.Column("delta_cap", sa.BigInteger(), nullable=True),
        sa.Column("eps_spent", sa.BigInteger(), nullable=False),
        sa.Column("delta_spent", sa.BigInteger(), nullable=False),
        sa.Column("rho_spent", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("product_id"),
    )


def downgrade() -> None:
    op.drop_table("product_budgets")
