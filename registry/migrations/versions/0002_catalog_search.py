"""catalog full-text search: SQLite FTS5 (trigram) or a PostgreSQL tsvector + GIN index

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE product_fts USING fts5(
        title, description, keywords_text,
        content='products', content_rowid='pk', tokenize='trigram')""",
    """CREATE TRIGGER products_fts_ai AFTER INSERT ON products BEGIN
        INSERT INTO product_fts(rowid, title, description, keywords_text)
        VALUES (new.pk, new.title, new.description, new.keywords_text);
    END""",
    """CREATE TRIGGER products_fts_ad AFTER DELETE ON products BEGIN
        INSERT INTO product_fts(product_fts, rowid, title, description, keywords_text)
        VALUES ('delete', old.pk, old.title, old.description, old.keywords_text);
    END""",
    """CREATE TRIGGER products_fts_au AFTER UPDATE OF title, description, keywords_text ON products
    BEGIN
        INSERT INTO product_fts(product_fts, rowid, title, description, keywords_text)
        VALUES ('delete', old.pk, old.title, old.description, old.keywords_text);
        INSERT INTO product_fts(rowid, title, description, keywords_text)
        VALUES (new.pk, new.title, new.description, new.keywords_text);
    END""",
]

POSTGRES_UP = [
    """ALTER TABLE products ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, '') || ' '
                    || coalesce(keywords_text, ''))) STORED""",
    "CREATE INDEX ix_products_search_tsv ON products USING GIN (search_tsv)",
]


def upgrade() -> None:
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP
    for sql in statements:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("products_fts_ai", "products_fts_ad", "products_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS product_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_products_search_tsv")
        op.execute("ALTER TABLE products DROP COLUMN IF EXISTS search_tsv")
