"""Request and response shapes of privacy budgets: one buyer's across its licenses, and the product-wide one."""

from __future__ import annotations

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
