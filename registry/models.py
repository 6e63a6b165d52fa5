"""Database tables of the exchange (SQLModel). Integer `pk` for order, UUID `id` for everything else."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    AUTHORITY = "authority"
    OPERATOR = "operator"
    PROVIDER = "provider"
    EXCHANGE = "exchange"
    BUYER = "buyer"
    AUDITOR = "auditor"


class Classification(StrEnum):
    GENERAL = "general"
    IMPORTANT = "important"
    CORE = "core"


class ChainState(StrEnum):
    NONE = "none"            # nothing on chain (e.g. a draft product)
    PENDING = "pending"      # queued in the outbox, chain unreachable when written
    CONFIRMED = "confirmed"  # receipt stored
    FAILED = "failed"        # the chain refused a queued transaction; see chain_tx.error


class ProductStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    IN_NOTICE = "in_notice"  # approved, in its public notice period (公示): objections may be filed
    LISTED = "listed"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    DELISTED = "delisted"


class AuthorizationStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def json_col() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_obj_col() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ChainFields(SQLModel):
    """The latest chain receipt of a row (its full history is in `chain_tx`)."""

    chain_subject: ClassVar[str] = ""  # the ChainTx.subject_type whose receipts this table carries
    chain_state: str = Field(default=ChainState.NONE, max_length=16)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = None
    log_index: int | None = None


class Account(ChainFields, table=True):
    __tablename__ = "accounts"
    chain_subject: ClassVar[str] = "account"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    name: str = Field(max_length=200)
    role: str = Field(index=True, max_length=16)
    address: str = Field(unique=True, max_length=42)
    api_key_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Resource(ChainFields, table=True):
    __tablename__ = "resources"
    chain_subject: ClassVar[str] = "resource"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)
    department: str = Field(max_length=200)
    sector: str = Field(index=True, max_length=64)
    region_code: str = Field(max_length=12)
    classification: str = Field(max_length=16)
    sensitivity_tags: list[str] = json_col()
    content_hash: str = Field(max_length=64)
    column_schema: list[dict[str, Any]] = json_col()
    update_frequency: str = Field(max_length=32)
    volume: int = Field(sa_type=sa.BigInteger)
    metadata_hash: str = Field(max_length=64)
    registered_by: str = Field(foreign_key="accounts.id", max_length=36)
    created_at: datetime = Field(default_factory=utcnow)


class Authorization(ChainFields, table=True):
    __tablename__ = "authorizations"
    chain_subject: ClassVar[str] = "authorization"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    code: str = Field(unique=True, max_length=32)
    authority_id: str = Field(foreign_key="accounts.id", max_length=36)
    operator_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    resource_ids: list[str] = json_col()
    purposes: list[str] = json_col()
    purpose_hash: str = Field(max_length=64)
    valid_from: int
    valid_until: int
    max_classification: str = Field(max_length=16)
    revoked: bool = False
    revoked_reason: str | None = None
    revoked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Product(ChainFields, table=True):
    __tablename__ = "products"
    chain_subject: ClassVar[str] = "product"
    __table_args__ = (
        sa.Index("ix_products_status_pk", "status", "pk"),
        sa.Index("ix_products_sector_pk", "sector", "pk"),
        # the catalog's title and price orders (registry.catalog_sql.ORDERS), read in index order
        sa.Index("ix_products_title_pk", "title", "pk"),
        sa.Index("ix_products_price_key_pk", sa.text(f"coalesce(price_from_fen, {2**62})"), "pk"),
    )
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    code: str = Field(unique=True, max_length=32)
    operator_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    authorization_id: str = Field(foreign_key="authorizations.id", index=True, max_length=36)
    resource_ids: list[str] = json_col()
    provider_ids: list[str] = json_col()
    title: str = Field(max_length=200)
    description: str = Field(sa_column=Column(sa.Text, nullable=False))
    publisher: str = Field(max_length=200)
    sector: str = Field(max_length=64)
    keywords: list[str] = json_col()
    keywords_text: str = Field(default="", max_length=2000)
    region_code: str = Field(index=True, max_length=12)
    temporal_start: str | None = Field(default=None, max_length=10)
    temporal_end: str | None = Field(default=None, max_length=10)
    update_frequency: str = Field(max_length=32)
    license: str = Field(max_length=200)
    source_statement: str = Field(sa_column=Column(sa.Text, nullable=False))
    authorization_basis: str = Field(max_length=200)
    classification: str = Field(index=True, max_length=16)
    scale: str = Field(max_length=200)
    columns: list[dict[str, Any]] = json_col()
    sample: list[dict[str, Any]] = json_col()
    quality: dict[str, Any] = json_obj_col()
    verification: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    offers: list[dict[str, Any]] = json_col()
    price_from_fen: int | None = Field(default=None, index=True, sa_type=sa.BigInteger)
    status: str = Field(default=ProductStatus.DRAFT, max_length=16)
    version: int = 1
    metadata_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    listed_at: datetime | None = None
    notice_ends_at: datetime | None = None  # end of the public notice period (set on approval)
    deliverable: str = Field(default="data", max_length=8, sa_column_kwargs={"server_default": "data"})
    model_spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False,
                                                                             server_default="{}"))


class ProductProvider(SQLModel, table=True):
    """Which provider nodes serve a product (for the catalog's provider filter)."""

    __tablename__ = "product_providers"
    product_id: str = Field(foreign_key="products.id", primary_key=True, max_length=36)
    provider_id: str = Field(foreign_key="accounts.id", primary_key=True, index=True, max_length=36)


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    reviewer_id: str = Field(foreign_key="accounts.id", max_length=36)
    checklist: dict[str, Any] = json_obj_col()
    decision: str = Field(max_length=16)
    reasons: str = Field(sa_column=Column(sa.Text, nullable=False))
    product_version: int
    metadata_hash: str = Field(max_length=64)
    record_seq: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Objection(SQLModel, table=True):
    """An objection to a product in its public notice, filed by any account; the exchange resolves it."""

    __tablename__ = "objections"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    filer_id: str = Field(foreign_key="accounts.id", max_length=36)
    reasons: str = Field(sa_column=Column(sa.Text, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | upheld | dismissed
    resolver_id: str | None = Field(default=None, max_length=36)
    resolution: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None


class ProductRevision(SQLModel, table=True):
    """An application about a registered product, by `kind`: a change (变更: pending -> approved -> published, or
    rejected), a correction of wrong registration facts (更正: the same path) or a cancellation (注销: pending ->
    approved, which delists the product, or rejected). `registry.revisions`, `registry.cancellation`."""

    __tablename__ = "product_revisions"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    kind: str = Field(default="change", max_length=16)  # change | correction | cancellation
    proposer_id: str = Field(foreign_key="accounts.id", max_length=36)
    grounds: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))  # applicant's reasons
    base_version: int
    changes: dict[str, Any] = json_obj_col()
    metadata_hash: str = Field(max_length=64)  # the product's metadata hash once the changes apply
    status: str = Field(default="pending", max_length=16)  # pending | approved | rejected | published
    review_id: str | None = Field(default=None, max_length=36)
    reasons: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class Certificate(ChainFields, table=True):
    __tablename__ = "certificates"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    code: str = Field(unique=True, max_length=32)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    holder_id: str = Field(foreign_key="accounts.id", max_length=36)
    body: dict[str, Any] = json_obj_col()
    cert_hash: str = Field(max_length=64)
    issued_at: datetime = Field(default_factory=utcnow)


class ChainTx(SQLModel, table=True):
    """Every chain transaction the exchange sends, and the outbox: `pending` rows are sent by drain()."""

    __tablename__ = "chain_tx"
    __table_args__ = (sa.Index("ix_chain_tx_state_pk", "state", "pk"),)
    pk: int | None = Field(default=None, primary_key=True)
    subject_type: str = Field(max_length=32)
    subject_id: str = Field(index=True, max_length=36)
    action: str = Field(max_length=48)
    payload: dict[str, Any] = json_obj_col()
    state: str = Field(default=ChainState.PENDING, max_length=16)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = None
    log_index: int | None = None
    error: str | None = None
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class RequestNonce(SQLModel, table=True):
    """A participant's signed request statement, by its nonce: each is accepted once."""

    __tablename__ = "request_nonces"
    __table_args__ = (sa.UniqueConstraint("signer", "nonce", name="uq_request_nonces_signer_nonce"),)
    pk: int | None = Field(default=None, primary_key=True)
    signer: str = Field(max_length=42)
    nonce: str = Field(max_length=66)
    deadline: int = Field(sa_column=Column(sa.BigInteger, nullable=False))


class IdempotencyKey(SQLModel, table=True):
    """First response to a POST carrying an Idempotency-Key, per API key."""

    __tablename__ = "idempotency_keys"
    scope: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    body: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
