"""Tables of the annual reports: the authority's maximum allowed revenue per operator and year, and the reports
published (their canonical body and hash; the `report.published` record anchors the hash)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.models import utcnow


class RevenueAllowance(SQLModel, table=True):
    """The maximum revenue (fen) an operator may take in one calendar year, as the authority set it last."""

    __tablename__ = "revenue_allowances"
    operator_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=36)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    allowed_fen: int = Field(sa_type=sa.BigInteger, nullable=False)
    authority_id: str = Field(foreign_key="accounts.id", max_length=36)
    updated_at: datetime = Field(default_factory=utcnow)


class PublishedReport(SQLModel, table=True):
    """One published report: `scope` is "authority" or the operator's account id; `body` its canonical JSON."""

    __tablename__ = "published_reports"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    year: int = Field(index=True)
    scope: str = Field(index=True, max_length=36)
    publisher_id: str = Field(foreign_key="accounts.id", max_length=36)
    body: str
    report_hash: str = Field(max_length=64)
    record_seq: int
    created_at: datetime = Field(default_factory=utcnow)
