"""Model products: a product whose deliverable is a model its operator fits (``deliverable: "model"``), not
queries; the fit's request and what a licensed buyer receives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from privacy.sql_linreg import MAX_FEATURES

ColumnName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
Deliverable = Annotated[Literal["data", "model"], Field(description=(
    "data: buyers query the product; model: buyers license the model its operator fits (`model`), not the data"))]


class ModelSpec(BaseModel):
    """A linear regression of ``target`` on an intercept and ``features`` (numeric product columns)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["linear"]
    target: ColumnName
    features: Annotated[list[ColumnName], Field(min_length=1, max_length=MAX_FEATURES)]


class _Column(Protocol):
    name: str
    type: str


class _Fields(Protocol):
    deliverable: str
    model: ModelSpec | None
    columns: list[Any]


def check_model_spec(fields: Any) -> Any:
    """A model product names its model, over distinct numeric columns of its own; a data product names none."""
    f: _Fields = fields
    if f.deliverable == "data":
        if f.model is not None:
            raise ValueError("model: only a product whose deliverable is a model declares one")
        return fields
    if f.model is None:
        raise ValueError("model: a model product declares its model (kind, target, features)")
    types = {c.name: c.type for c in f.columns}
    used = [f.model.target, *f.model.features]
    if len(set(used)) != len(used):
        raise ValueError("model: target and features must be distinct columns")
    for name in used:
        if types.get(name) not in ("integer", "number"):
            raise ValueError(f"model: {name} is not a numeric column of the product")
    return fields


class ModelFitIn(BaseModel):
    """The privacy budget one fit spends from the product-wide budget."""

    model_config = ConfigDict(extra="forbid")
    epsilon: Annotated[float, Field(strict=True, gt=0, le=100)]
    delta: Annotated[float, Field(strict=True, gt=0, lt=1e-2)] = 1e-6


class ModelOut(BaseModel):
    """A fitted model: coefficients (intercept first) with standard errors (sampling and noise) and 95 %
    intervals, the complete cases n, R², what the fit was charged, and its ledger record (the receipt)."""

    product_id: str
    kind: str
    target: str
    terms: list[str]
    coef: list[float]
    se: list[float]
    se_noise: list[float]
    ci95: list[list[float]]
    n: int
    r2: float
    residual_sd: float
    ridge: float
    epsilon: float
    delta: float
    plan_hash: str
    model_hash: str
    fitted_at: datetime
    receipt: dict[str, Any]
