"""Alembic environment: migrations run on the connection handed over by registry.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import registry.tables  # noqa: F401  (every table in the metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only programmatic use is supported
    raise RuntimeError("run migrations through registry.db.migrate(engine)")
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
