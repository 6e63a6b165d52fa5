"""Tables of the query side: provider nodes known to the exchange, each product's query policy, and the models
fitted for model products."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from registry.models import json_obj_col, utcnow


class ProviderNode(SQLModel, table=True):
    """The node a provider account runs: its protocol id, URL, Ed25519 identity key (hex), and the hash of
    the signed policy it enforces (None: the node runs without one)."""

    __tablename__ = "provider_nodes"
    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=36)
    node_id: str = Field(unique=True, max_length=64)
    url: str = Field(max_length=500)
    public_key: str = Field(max_length=64)
    policy_hash: str | None = Field(default=None, max_length=64)
    registered_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class QueryPolicy(SQLModel, table=True):
    """How a product answers queries (set by its operator; defaults apply without a row)."""

    __tablename__ = "query_policies"
    product_id: str = Field(foreign_key="products.id", primary_key=True, max_length=36)
    noise: bool = True
    threshold: int | None = None
    min_group_size: int = 10
    default_epsilon: float = 0.1
    default_delta: float = 1e-6
    updated_at: datetime = Field(default_factory=utcnow)


class ModelFit(SQLModel, table=True):
    """One fit of a model product's model (the newest is what licensed buyers get), with its `model.fit` record."""

    __tablename__ = "model_fits"
    id: str = Field(primary_key=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    seq: int = Field(unique=True)
    model: dict[str, Any] = json_obj_col()
    model_hash: str = Field(max_length=64)
    plan_hash: str = Field(max_length=64)
    epsilon: float
    delta: float
    fitted_at: datetime = Field(default_factory=utcnow)
