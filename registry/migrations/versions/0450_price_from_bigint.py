"""Product `price_from_fen` as BIGINT: every amount column holds `registry.limits.MAX_FEN` (10^15 fen),
beyond PostgreSQL's INTEGER (SQLite's INTEGER already holds 64 bits).

Revision ID: 0450
Revises: 0410
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0450"
down_revision = "0410"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite's INTEGER is already 64-bit, and a batch rebuild of `products` would drop the catalog-search
    # triggers of 0002: only PostgreSQL changes.
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("products", "price_from_fen", type_=sa.BigInteger(), existing_type=sa.Integer(),
                    existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("products", "price_from_fen", type_=sa.Integer(), existing_type=sa.BigInteger(),
                    existing_nullable=True)
