"""Participants keep their own keys: the accounts' custodial keyfiles are dropped (the exchange holds addresses
only), and the nonces of participants' signed request statements are kept so none is used twice.

Revision ID: 0500
Revises: 0450
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0500"
down_revision = "0450"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_nonces",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("signer", sqltypes.AutoString(length=42), nullable=False),
        sa.Column("nonce", sqltypes.AutoString(length=66), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("signer", "nonce", name="uq_request_nonces_signer_nonce"),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("keyfile")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("keyfile", sa.Text(), nullable=False, server_default=""))
    op.drop_table("request_nonces")
