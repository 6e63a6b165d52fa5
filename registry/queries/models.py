"""Tables of the query side: provider nodes known to the exchange, each product's query policy, the models
fitted for model products, and verification calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import JSON, Column, Field, SQLModel

from registry.models import json_obj_col, utcnow
from registry.privacy_unit import DEFAULT_GROUPS_PER_ID, DEFAULT_ROWS_PER_ID


class ProviderNode(SQLModel, table=True):
    """The node a provider account runs: its protocol id, URL, Ed25519 identity key (hex), and the hash of
    the signed policy it enforces (None: the node runs without one)."""

    __tablename__ = "provider_nodes"
    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=36)
    node_id: str = Field(unique=True, max_length=64)
    url: str = Field(max_length=500)
    public_key: str = Field(max_length=64)
    policy_hash: str | None = Field(default=None, max_length=64)
    id_prefixes: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The privacy-ID prefixes its verified policy declares (None: none)."""
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
    max_rows_per_id: int = DEFAULT_ROWS_PER_ID
    max_groups_per_id: int = DEFAULT_GROUPS_PER_ID
    ids_partitioned: bool = False
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


class VerificationCall(SQLModel, table=True):
    """One verification call under a license: who, which product, when, the claim's column and operator (never
    the key or the value), its charge, and the hash of the sealed answers (``status``: pending, done, failed)."""

    __tablename__ = "verification_calls"
    __table_args__ = (Index("ix_verification_calls_license_at", "license_id", "created_at"),)
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    license_id: str = Field(foreign_key="licenses.id", max_length=36)
    buyer_id: str = Field(max_length=36)
    product_id: str = Field(max_length=36)
    charge_id: str = Field(max_length=36)
    claim_column: str = Field(max_length=64)
    claim_op: str = Field(max_length=16)
    status: str = Field(default="pending", max_length=16)
    bundle_hash: str | None = Field(default=None, max_length=64)
    record_seq: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
