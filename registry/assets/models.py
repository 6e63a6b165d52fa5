"""The declared-costs table: append-only, one row per `cost.declared` record (a correction is a new row naming the
row it corrects in `corrects_id`; no row is ever edited)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.models import utcnow


class DeclaredCost(SQLModel, table=True):
    """A cost the product's operator declared: the day it was incurred, its category, amount and description, and
    the SHA-256 of the invoice the operator keeps (optional)."""

    __tablename__ = "declared_costs"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    operator_id: str = Field(foreign_key="accounts.id", max_length=36)
    incurred_on: str = Field(max_length=10, description="ISO date, YYYY-MM-DD (China Standard Time)")
    category: str = Field(max_length=16)
    amount_fen: int = Field(sa_type=sa.BigInteger, nullable=False)
    description: str = Field(max_length=500)
    evidence_hash: str | None = Field(default=None, max_length=64)
    corrects_id: str | None = Field(default=None, unique=True, max_length=36)
    record_seq: int
    created_at: datetime = Field(default_factory=utcnow)
