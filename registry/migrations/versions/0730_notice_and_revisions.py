"""Registration procedure: the public notice (its end on the product, objections) and revisions of listed products.

Revision ID: 0730
Revises: 0750 (main took 0750 after 0710 meanwhile)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0730"
down_revision = "0750"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("notice_ends_at", sqltypes.UTCDateTime(), nullable=True))
    op.create_table(
        "objections",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("filer_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("status", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("resolver_id", sqltypes.AutoString(length=36), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.ForeignKeyConstraint(["filer_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_objections_product_id", "objections", ["product_id"])
    op.create_table(
        "product_revisions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("product_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("proposer_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("metadata_hash", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqltypes.AutoString(length=16), nullable=False),
        sa.Column("review_id", sqltypes.AutoString(length=36), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_at", sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.ForeignKeyConstraint(["proposer_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_product_revisions_product_id", "product_revisions", ["product_id"])


def downgrade() -> None:
    op.drop_index("ix_product_revisions_product_id", table_name="product_revisions")
    op.drop_table("product_revisions")
    op.drop_index("ix_objections_product_id", table_name="objections")
    op.drop_table("objections")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("notice_ends_at")
