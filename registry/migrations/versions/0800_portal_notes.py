"""Portal notes (flash messages, kept results) in the database, so any API worker serves the redirected page.

Revision ID: 0800
Revises: 0780
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0800"
down_revision = "0780"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_notes",
        sa.Column("id", sqltypes.AutoString(length=24), nullable=False),
        sa.Column("session_hash", sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("created_at", sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_portal_notes_session_hash", "portal_notes", ["session_hash"])
    op.create_index("ix_portal_notes_created_at", "portal_notes", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_portal_notes_created_at", table_name="portal_notes")
    op.drop_index("ix_portal_notes_session_hash", table_name="portal_notes")
    op.drop_table("portal_notes")
