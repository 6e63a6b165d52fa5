"""Request and response shapes of verification calls (核验)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from registry.schemas import Strict, Uuid

Number = float | int | str


class ClaimIn(Strict):
    """``column op value`` (``between``: ``values`` [lo, hi]; ``within_pct``: ``values`` [target, pct])."""

    column: Annotated[str, Field(min_length=1, max_length=64)]
    op: Annotated[str, Field(min_length=1, max_length=16, description="=, >=, <=, >, <, between, within_pct")]
    value: Number | None = None
    values: Annotated[list[Number] | None, Field(max_length=2)] = None

    def all_values(self) -> list[Any]:
        return ([self.value] if self.value is not None else []) + list(self.values or [])


class VerifyIn(Strict):
    license_id: Uuid
    key: Annotated[str, Field(min_length=1, max_length=200, description="e.g. the herder's id")]
    claim: ClaimIn
    reply_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$",
                                    description="the buyer's X25519 public key (hex): the answers are sealed to it")]


class NodeKey(BaseModel):
    node_id: str
    public_key: str


class VerifyOut(BaseModel):
    """The sealed answers (one per node, in random order, all the same size) and what the buyer needs to open and
    check them; the exchange never sees inside."""

    call_id: str
    license_id: str
    product_id: str
    question_hash: str
    sealed: list[str]
    bundle_hash: str
    nodes: list[NodeKey]
    charge_id: str
    unit_price_fen: int
    queries_left: int
    receipt: dict[str, Any]
    created_at: datetime


class VerificationCallOut(BaseModel):
    id: str
    license_id: str
    product_id: str
    claim_column: str
    claim_op: str
    status: str
    bundle_hash: str | None
    receipt: dict[str, Any] | None
    created_at: datetime
