"""Request and response shapes of declared costs, the asset ledger and its evidence export."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field

from registry.limits import Fen
from registry.schemas import Hex64, Strict, Uuid

INVOICE_HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


class CostCategory(StrEnum):
    """The closed list of cost categories (docs/data-assets.md): collection (采集), processing and governance
    (加工治理), storage (存储), computing (计算), personnel (人工), compliance (合规), other (其他)."""

    COLLECTION = "collection"
    PROCESSING = "processing"
    STORAGE = "storage"
    COMPUTING = "computing"
    PERSONNEL = "personnel"
    COMPLIANCE = "compliance"
    OTHER = "other"


class CostIn(Strict):
    """A cost the product's operator declares; `corrects` names an earlier entry this one replaces (amount 0:
    the earlier entry is withdrawn)."""

    incurred_on: Annotated[date, Field(examples=["2026-05-01"], description="the day the cost was incurred")]
    category: CostCategory
    amount_fen: Annotated[Fen, Field(examples=[1_250_000], description="integer fen, at least 1 (0 only when "
                                                                      "`corrects` withdraws an entry)")]
    description: Annotated[str, Field(min_length=1, max_length=500, examples=["cleaning and de-identification, May"])]
    evidence_hash: Annotated[Hex64 | None, Field(description="SHA-256 of the invoice file the operator keeps",
                                                 examples=[INVOICE_HASH])] = None
    corrects: Annotated[Uuid | None, Field(description="the id of the entry this one corrects")] = None


class CostOut(BaseModel):
    id: str
    product_id: str
    operator_id: str
    incurred_on: str
    category: str
    amount_fen: int
    description: str
    evidence_hash: str | None
    corrects_id: str | None
    corrected_by: str | None = Field(description="the entry that corrects this one (then this one no longer counts)")
    record_seq: int = Field(description="the `cost.declared` record")
    created_at: datetime


class LedgerLine(BaseModel):
    period: str = Field(description="YYYY-MM, China Standard Time")
    date: str
    kind: str = Field(description="cost, sale, refund or public_welfare")
    category: str | None
    amount_fen: int = Field(description="cost, sale price (voucher part included) or refund; 0 for public welfare")
    forgone_fen: int = Field(description="public welfare: the list price forgone")
    reference: str = Field(description="the cost entry or the license")
    description: str
    record: int = Field(description="the ledger record backing the line (seq)")


class LedgerPeriod(BaseModel):
    period: str | None = None
    costs: dict[str, int] = Field(description="fen by category")
    costs_fen: int
    revenue_fen: int
    refunds_fen: int
    net_revenue_fen: int
    public_welfare_licenses: int
    forgone_fen: int
    cumulative_costs_fen: int
    cumulative_net_revenue_fen: int


class AssetLedgerOut(BaseModel):
    """A product's cost and revenue ledger, per month, with the lines and their records."""

    product_id: str
    product_code: str
    title: str
    year: int | None
    periods: list[LedgerPeriod]
    totals: LedgerPeriod
    lines: list[LedgerLine]

    @classmethod
    def of(cls, product: Any, book: dict[str, Any]) -> AssetLedgerOut:
        return cls(product_id=product.id, product_code=product.code, title=product.title, **book)
