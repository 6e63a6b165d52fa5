"""Request and response shapes of privacy budgets: one buyer's across its licenses, and the product-wide one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from registry.schemas import Strict


class BudgetPolicyIn(Strict):
    epsilon: Annotated[float, Field(strict=True, gt=0, le=10_000)]
    delta: Annotated[float, Field(strict=True, ge=0, lt=1)]
    rho: Annotated[float | None, Field(strict=True, gt=0, le=10_000)] = None


class TotalBudgetIn(Strict):
    """What all buyers together may spend on the product (ε, δ), whatever the number of buyers or accounts."""

    epsilon: Annotated[float, Field(strict=True, gt=0, le=10_000)]
    delta: Annotated[float, Field(strict=True, ge=0, lt=1)]

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"epsilon": 20.0, "delta": 1e-4}]})


class TotalBudgetOut(BaseModel):
    product_id: str
    epsilon_cap: float | None = Field(description="null: no product-wide cap (the spend is counted anyway)")
    delta_cap: float | None
    epsilon_spent: float
    delta_spent: float
    epsilon_left: float | None
    delta_left: float | None


class SpendPoint(BaseModel):
    at: datetime
    epsilon: float = Field(description="what one query spent (refunded queries are left out)")


class BudgetTrack(BaseModel):
    """A budget with its history: each charge in time order, after `epsilon_before` spent earlier."""

    epsilon_cap: float | None = Field(description="null: no cap (the spend is counted anyway)")
    epsilon_spent: float
    epsilon_left: float | None
    refreshes: bool = Field(False, description="false: a lifetime budget, it never refreshes")
    epsilon_before: float = Field(description="spent before the first point of `history`")
    history: list[SpendPoint]


class BudgetUsageOut(BaseModel):
    product_id: str
    product_total: BudgetTrack = Field(description="all buyers together (the product-wide budget)")
    mine: BudgetTrack | None = Field(description="a buyer's own budget on the product across its licenses")
