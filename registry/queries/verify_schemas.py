"""Request and response shapes of verification calls (核验)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from registry.schemas import Strict, Uuid


class ClaimIn(Strict):
    """The claim's column and operator: product terms the exchange checks. The key and the value(s) travel only
    inside the sealed questions."""

    column: Annotated[str, Field(min_length=1, max_length=64)]
    op: Annotated[str, Field(min_length=1, max_length=16, description="=, >=, <=, >, <, between, within_pct")]


class VerifyIn(Strict):
    license_id: Uuid
    claim: ClaimIn
    question_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the canonical "
                                        "{key, claim, nonce}: every node's statement names it")]
    reply_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$",
                                    description="the buyer's X25519 public key (hex): the answers are sealed to it")]
    sealed: Annotated[dict[str, str], Field(min_length=1, max_length=64, description="node id -> the question "
                                            "{key, claim, nonce, reply_key} sealed to that node's sealing key "
                                            "(GET /licenses/{id}/verification-nodes)")]


class VerificationNode(BaseModel):
    """A node of the product: its registered identity key (as on the ledger's `provider.node` record) and its
    X25519 sealing key, in an envelope the node signed with that identity key (check it before sealing to it)."""

    node_id: str
    public_key: str
    sealing_key: dict[str, Any]


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
