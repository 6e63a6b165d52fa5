"""Annual reports: the authority's maximum allowed revenue per operator and year, and the published reports.

Revision ID: 0740
Revises: 0710
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0740"
down_revision = "0710"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revenue_allowances",
        sa.Column("operator_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("allowed_fen", sa.BigInteger(), nullable=False),
        sa.Column("authority_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("updated_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["authority_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("operator_id", "year"),
    )
    op.create_table(
        "published_reports",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("scope", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("publisher_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("body", sqltypes.AutoString(), nullable=False),
        sa.Column("report_hash", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("record_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["publisher_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_published_reports_year", "published_reports", ["year"])
    op.create_index("ix_published_reports_scope", "published_reports", ["scope"])


def downgrade() -> None:
    op.drop_table("published_reports")
    op.drop_table("revenue_allowances")
