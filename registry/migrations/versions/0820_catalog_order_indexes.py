"""Catalog title and price orders read from indexes: (title, pk) and (coalesce(price_from_fen, 2**62), pk)

Revision ID: 0820
Revises: 0810
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0820"
down_revision = "0810"
branch_labels = None
depends_on = None

PRICE_KEY = f"coalesce(price_from_fen, {2**62})"  # registry.catalog_sql.PRICE_KEY, literally


def upgrade() -> None:
    op.create_index("ix_products_title_pk", "products", ["title", "pk"])
    op.create_index("ix_products_price_key_pk", "products", [sa.text(PRICE_KEY), "pk"])


def downgrade() -> None:
    op.drop_index("ix_products_price_key_pk", table_name="products")
    op.drop_index("ix_products_title_pk", table_name="products")
