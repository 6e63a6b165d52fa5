"""Trading tables: price caps, offers, voucher programmes, vouchers, orders, licenses, metered charges, privacy budgets,
negotiations. Money is integer fen; privacy budgets are integer units (see `registry.trading.licenses`) so the
atomic conditional updates are exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.models import ChainFields, json_col, json_obj_col, utcnow


class OfferKind(StrEnum):
    ONE_OFF = "one_off"            # one license, quantity 1
    SUBSCRIPTION = "subscription"  # quantity = number of periods of `term_days`
    METERED = "metered"            # prepaid queries: quantity = number of queries, tiered unit price
    NEGOTIABLE = "negotiable"      # no price: buyers open a negotiation; never on chain itself


# The charge form (计费方式) each priced kind is on chain (Settlement `form`): per item, per call, per period.
# "Per data volume" has no offer kind yet.
FORM_OF_KIND: dict[str, int] = {OfferKind.ONE_OFF: 0, OfferKind.METERED: 1, OfferKind.SUBSCRIPTION: 2}


class OrderState(StrEnum):
    PENDING = "pending"  # written before buyLicense is sent; retried by the outbox until the chain answers
    PAID = "paid"        # the chain has the payment and the license row exists
    FAILED = "failed"    # the chain refused the purchase; nobody paid


class Use(StrEnum):
    """The use a buyer declares (价格形成机制): public governance and public welfare is free of charge, by
    accounts the authority names; industrial and commercial use pays the offer's price."""

    COMMERCIAL = "commercial"
    PUBLIC_WELFARE = "public_welfare"


class LicenseStatus(StrEnum):
    PAID = "paid"
    ESCROWED = "escrowed"  # paid into escrow; refundable until `release_after` (chain time)
    REFUNDED = "refunded"


class NegotiationState(StrEnum):
    REQUESTED = "requested"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    AGREED = "agreed"
    FINALIZED = "finalized"
    TERMINATED = "terminated"


def big(default: int = 0) -> Any:
    return Field(default=default, sa_type=sa.BigInteger, nullable=False)


class PriceCap(ChainFields, table=True):
    """The authority's per-unit price cap for a public-data product (on chain: Settlement.priceCap)."""

    __tablename__ = "price_caps"
    product_id: str = Field(foreign_key="products.id", primary_key=True, max_length=36)
    cap_fen: int = big()
    authority_id: str = Field(foreign_key="accounts.id", max_length=36)
    updated_at: datetime = Field(default_factory=utcnow)


class PriceCapRule(ChainFields, table=True):
    """The authority's cap on one charge form of a product (on chain: Settlement.formCap): `trial_cap_fen` before
    `trial_until`, `cap_fen` from `effective_from` (unix seconds); 0 falls through to the product's price cap."""

    __tablename__ = "price_cap_rules"
    product_id: str = Field(foreign_key="products.id", primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=16)  # the offer kind = charge form: one_off, metered, subscription
    cap_fen: int = big()
    effective_from: int = big()
    trial_cap_fen: int = big()
    trial_until: int = big()
    authority_id: str = Field(foreign_key="accounts.id", max_length=36)
    updated_at: datetime = Field(default_factory=utcnow)


class PublicWelfareUser(ChainFields, table=True):
    """An account the authority names for public-governance / public-welfare use (on chain:
    Settlement.publicWelfareUser): it may take licenses free of charge while `eligible`."""

    __tablename__ = "public_welfare_users"
    chain_subject: ClassVar[str] = "public_welfare_user"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(foreign_key="accounts.id", unique=True, max_length=36)  # the account
    address: str = Field(max_length=42)  # the account's bound address, as the chain names it (lower case)
    eligible: bool
    reason: str = Field(max_length=500)
    authority_id: str = Field(foreign_key="accounts.id", max_length=36)
    updated_at: datetime = Field(default_factory=utcnow)


class Offer(ChainFields, table=True):
    __tablename__ = "offers"
    chain_subject: ClassVar[str] = "offer"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    operator_id: str = Field(foreign_key="accounts.id", max_length=36)
    kind: str = Field(max_length=16)
    basis: str = Field(max_length=16)
    tiers: list[list[int]] = json_col()
    term_days: int | None = None
    refund_window: int = 0
    payees: list[dict[str, Any]] = json_col()
    terms: dict[str, Any] = json_obj_col()
    buyer_id: str | None = Field(default=None, foreign_key="accounts.id", index=True, max_length=36)
    negotiation_id: str | None = Field(default=None, max_length=36)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class VoucherProgramme(ChainFields, table=True):
    """A voucher programme (on chain: VoucherProgrammes.createProgramme); its vouchers are `Voucher.programme_id`."""

    __tablename__ = "voucher_programmes"
    chain_subject: ClassVar[str] = "voucher_programme"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    authority_id: str = Field(foreign_key="accounts.id", max_length=36)
    name: str = Field(max_length=200)
    annual_budget_fen: int = big()
    max_share_bps: int
    starts_at: int = Field(sa_type=sa.BigInteger, description="unix seconds")
    ends_at: int = Field(sa_type=sa.BigInteger, description="unix seconds")
    sectors: list[str] = json_col()
    product_ids: list[str] = json_col()
    holder_ids: list[str] = json_col()
    created_at: datetime = Field(default_factory=utcnow)


class Voucher(ChainFields, table=True):
    __tablename__ = "vouchers"
    chain_subject: ClassVar[str] = "voucher"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    programme_id: str | None = Field(default=None, foreign_key="voucher_programmes.id", index=True, max_length=36)
    authority_id: str = Field(foreign_key="accounts.id", max_length=36)
    holder_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    amount_fen: int = big()
    redeemed_fen: int = big()
    reclaimed_fen: int = big()  # the unspent part the authority took back after expiry (and the programme's year)
    expires_at: int = Field(sa_type=sa.BigInteger, description="unix seconds")
    sectors: list[str] = json_col()
    created_at: datetime = Field(default_factory=utcnow)


class Order(ChainFields, table=True):
    """A purchase. Written (pending) before buyLicense is sent, with the license id fixed up front."""

    __tablename__ = "orders"
    chain_subject: ClassVar[str] = "order"
    __table_args__ = (sa.UniqueConstraint("buyer_id", "idempotency_key", name="uq_orders_buyer_idem"),)
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    buyer_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    offer_id: str = Field(foreign_key="offers.id", max_length=36)
    quantity: int = big()
    license_id: str = Field(unique=True, max_length=36)
    voucher_id: str | None = Field(default=None, max_length=36)
    voucher_requested_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    amount_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    voucher_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    terms: dict[str, Any] = json_obj_col()
    terms_hash: str = Field(max_length=64)
    state: str = Field(default=OrderState.PENDING, index=True, max_length=16)
    error: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)
    use: str = Field(default=Use.COMMERCIAL, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    paid_at: datetime | None = None


class License(ChainFields, table=True):
    """A usage license: terms, quotas and privacy budget counters (spent by conditional updates)."""

    __tablename__ = "licenses"
    chain_subject: ClassVar[str] = "license"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", unique=True, max_length=36)
    buyer_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    offer_id: str = Field(foreign_key="offers.id", max_length=36)
    kind: str = Field(max_length=16)
    quantity: int = big()
    unit_price_fen: int = big()
    amount_fen: int = big()
    voucher_fen: int = big()
    terms: dict[str, Any] = json_obj_col()
    terms_hash: str = Field(max_length=64)
    query_kinds: list[str] = json_col()
    columns: list[str] = json_col()
    max_queries: int = big()
    queries_used: int = big()
    eps_budget: int = big()
    eps_spent: int = big()
    delta_budget: int = big()
    delta_spent: int = big()
    rho_budget: int | None = Field(default=None, sa_type=sa.BigInteger)
    rho_spent: int = big()
    # Budget window (`registry.trading.windows`): the counters above are lifetime totals; `win_*` are what they
    # stood at when the current window (starting `window_start`) began. No window: null and zeros.
    budget_window: str | None = Field(default=None, max_length=8)
    window_start: datetime | None = None
    win_queries: int = big()
    win_eps: int = big()
    win_delta: int = big()
    win_rho: int = big()
    valid_from: datetime
    valid_until: datetime
    release_after: int = Field(default=0, sa_type=sa.BigInteger, description="chain time (unix s)")
    status: str = Field(default=LicenseStatus.PAID, max_length=16)
    payouts: list[dict[str, Any]] = json_col()
    use: str = Field(default=Use.COMMERCIAL, index=True, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    refunded_at: datetime | None = None


class LicenseCharge(SQLModel, table=True):
    """One query drawn from a license (metered: at its unit price). `refunded` when the query failed."""

    __tablename__ = "license_charges"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    license_id: str = Field(foreign_key="licenses.id", index=True, max_length=36)
    buyer_id: str = Field(max_length=36, index=True)
    product_id: str = Field(max_length=36)
    unit_price_fen: int = big()
    eps: int = big()
    delta: int = big()
    rho: int = big()
    kinds: list[str] = json_col()
    refunded: bool = False
    window_start: datetime | None = None  # the license's budget window the charge was drawn from
    created_at: datetime = Field(default_factory=utcnow)


class BudgetPolicy(SQLModel, table=True):
    """Privacy budget a buyer may spend on a product across all its licenses (set by the operator)."""

    __tablename__ = "budget_policies"
    product_id: str = Field(foreign_key="products.id", primary_key=True, max_length=36)
    eps_cap: int = big()
    delta_cap: int = big()
    rho_cap: int | None = Field(default=None, sa_type=sa.BigInteger)
    updated_at: datetime = Field(default_factory=utcnow)


class ProductBudget(SQLModel, table=True):
    """Privacy budget spent on one product by every buyer together, and its cap (null: none) set by the operator
    or the authority: it bounds the total leakage whatever the number of buyers or accounts."""

    __tablename__ = "product_budgets"
    product_id: str = Field(foreign_key="products.id", primary_key=True, max_length=36)
    eps_cap: int | None = Field(default=None, sa_type=sa.BigInteger)
    delta_cap: int | None = Field(default=None, sa_type=sa.BigInteger)
    eps_spent: int = big()
    delta_spent: int = big()
    rho_spent: int = big()


class BuyerBudget(SQLModel, table=True):
    """Privacy budget spent by one buyer on one product, across its licenses."""

    __tablename__ = "buyer_budgets"
    product_id: str = Field(foreign_key="products.id", primary_key=True, max_length=36)
    buyer_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=36)
    eps_spent: int = big()
    delta_spent: int = big()
    rho_spent: int = big()


class Negotiation(SQLModel, table=True):
    __tablename__ = "negotiations"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    product_id: str = Field(foreign_key="products.id", index=True, max_length=36)
    base_offer_id: str = Field(foreign_key="offers.id", max_length=36)
    buyer_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    operator_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    state: str = Field(default=NegotiationState.REQUESTED, max_length=16)
    turn: str | None = Field(default="operator", max_length=16)
    kind: str = Field(max_length=16)
    quantity: int = big(1)
    unit_price_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    term_days: int | None = None
    terms: dict[str, Any] = json_obj_col()
    deadline: datetime | None = None
    agreed_offer_id: str | None = Field(default=None, max_length=36)
    license_id: str | None = Field(default=None, max_length=36)
    reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class NegotiationEvent(SQLModel, table=True):
    """Every negotiation transition, who made it and what was proposed."""

    __tablename__ = "negotiation_events"
    pk: int | None = Field(default=None, primary_key=True)
    negotiation_id: str = Field(foreign_key="negotiations.id", index=True, max_length=36)
    actor_id: str = Field(max_length=36)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    data: dict[str, Any] = json_obj_col()
    created_at: datetime = Field(default_factory=utcnow)
