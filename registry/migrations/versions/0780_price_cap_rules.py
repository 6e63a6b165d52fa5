"""Price caps per product and charge form, with an effective date and a trial period (registry.trading.caps).

Revision ID: 0780
Revises: 0770
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0780"
down_revision = "0770"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_cap_rules",
        sa.Column("chain_state", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tx_hash", sqltypes.AutoString(length=66), nullable=True),
        sa.Column("block_number", sa.Integer(), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("cap_fen", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", sa.BigInteger(), nullable=False),
        sa.Column("trial_cap_fen", sa.BigInteger(), nullable=False),
        sa.Column("trial_until", sa.BigInteger(), nullable=False),
        sa.Column("authority_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("updated_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["authority_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("product_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("price_cap_rules")
