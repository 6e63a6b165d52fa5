"""Model products: a product's deliverable (data or a model) and its model; the models fitted for them.

Revision ID: 0840
Revises: 0820
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0840"
down_revision = "0820"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("deliverable", sqltypes.AutoString(length=8), nullable=False,
                                   server_default="data"))
        batch.add_column(sa.Column("model_spec", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "model_fits",
        sa.Column("id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("model_hash", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("plan_hash", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("fitted_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("ix_model_fits_product_id", "model_fits", ["product_id"])


def downgrade() -> None:
    op.drop_index("ix_model_fits_product_id", table_name="model_fits")
    op.drop_table("model_fits")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("model_spec")
        batch.drop_column("deliverable")
