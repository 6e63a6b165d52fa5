"""Portal sessions (a random id stored hashed, with expiry and a CSRF token); idempotency scoped per account.

Idempotency rows were scoped by the hash of the Authorization header and could hold a response carrying an
API key in plain text; the scope is now the account, so the old rows can never match again: they are deleted,
and every secret with them.

Revision ID: 0410
Revises: 0300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0410"
down_revision = "0300"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id_hash", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sqltypes.AutoString(length=36), nullable=False),
        sa.Column("csrf_token", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_portal_sessions_account_id", "portal_sessions", ["account_id"])
    op.create_index("ix_portal_sessions_expires_at", "portal_sessions", ["expires_at"])
    op.execute("DELETE FROM idempotency_keys")


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_expires_at", table_name="portal_sessions")
    op.drop_index("ix_portal_sessions_account_id", table_name="portal_sessions")
    op.drop_table("portal_sessions")
