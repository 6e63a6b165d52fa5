"""Correction and cancellation registrations: an application's `kind` and its applicant's `grounds`.

Revision ID: 0770
Revises: 0760
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0770"
down_revision = "0760"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product_revisions") as batch:
        batch.add_column(sa.Column("kind", sqltypes.AutoString(length=16), nullable=False, server_default="change"))
        batch.add_column(sa.Column("grounds", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product_revisions") as batch:
        batch.drop_column("grounds")
        batch.drop_column("kind")
