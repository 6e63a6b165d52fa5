"""The privacy unit: rows per privacy ID per group (R), groups per ID (G) and IDs partitioned by provider in a
product's query policy; the ID prefixes each registered node's policy declares.

Revision ID: 0870
Revises: 0860
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0870"
down_revision = "0860"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("query_policies") as batch:
        batch.add_column(sa.Column("max_rows_per_id", sa.Integer(), nullable=False, server_default="10"))
        batch.add_column(sa.Column("max_groups_per_id", sa.Integer(), nullable=False, server_default="10"))
        batch.add_column(sa.Column("ids_partitioned", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("provider_nodes") as batch:
        batch.add_column(sa.Column("id_prefixes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_nodes") as batch:
        batch.drop_column("id_prefixes")
    with op.batch_alter_table("query_policies") as batch:
        batch.drop_column("ids_partitioned")
        batch.drop_column("max_groups_per_id")
        batch.drop_column("max_rows_per_id")
