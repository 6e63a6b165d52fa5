"""Verification products: a product's verification terms, and each verification call.

Revision ID: 0850
Revises: 0840
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0850"
down_revision = "0840"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("verification", sa.JSON(), nullable=True))
    op.create_table(
        "verification_calls",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("license_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("buyer_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("charge_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("claim_column", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("claim_op", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("bundle_hash", sqltypes.AutoString(length=64), nullable=True),
        sa.Column("record_seq", sa.Integer(), nullable=True),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_verification_calls_license_at", "verification_calls", ["license_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_verification_calls_license_at", table_name="verification_calls")
    op.drop_table("verification_calls")
    op.drop_column("products", "verification")
