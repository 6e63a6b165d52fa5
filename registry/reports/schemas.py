"""Request and response shapes of maximum allowed revenue and annual reports."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from registry.limits import Fen
from registry.reports.period import FIRST_YEAR, LAST_YEAR
from registry.schemas import Strict, Uuid

Year = Annotated[int, Field(strict=True, ge=FIRST_YEAR, le=LAST_YEAR, examples=[2026],
                            description="calendar year, China Standard Time")]
ReportFormat = Literal["json", "csv", "html"]


class AllowanceIn(Strict):
    """The authority's maximum allowed revenue (最高准许收入) for one operator and year."""

    operator_id: Annotated[Uuid, Field(examples=["3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e"])]
    year: Year
    allowed_fen: Annotated[Fen, Field(examples=[500_000_000])]


class PublishIn(Strict):
    year: Year


class RevenueRow(BaseModel):
    """One operator's year: maximum, deduction carried from last year's excess, effective maximum, revenue,
    excess over it (carried into next year), and the `revenue.exceeded` records flagging it."""

    operator_id: str
    year: int
    allowed_fen: int | None = Field(description="null: the authority set no maximum for the year")
    carried_fen: int = Field(description="last year's excess, deducted from this year's maximum")
    effective_fen: int | None
    revenue_fen: int
    excess_fen: int = Field(description="carried as a deduction into next year")
    flags: list[int] = Field(description="sequence numbers of the revenue.exceeded records")


class PublishedOut(BaseModel):
    id: str
    year: int
    scope: str = Field(description='"authority" or the operator\'s account id')
    publisher_id: str
    report_hash: str = Field(description="SHA-256 of the report's canonical JSON, anchored by its record")
    record_seq: int
    created_at: str
