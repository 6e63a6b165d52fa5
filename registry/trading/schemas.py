"""Request and response shapes of trading: offers, quotes, vouchers, orders, licenses, negotiations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registry.limits import MAX_QUANTITY
from registry.limits import Fen as Fen
from registry.limits import PositiveFen as PositiveFen
from registry.limits import Quantity as Quantity
from registry.schemas import ChainReceiptOut, Strict, Uuid
from registry.trading.models import Use
from registry.trading.windows import BudgetWindow

# The query kinds of the privacy query language (`privacy.plan.KINDS`; a test keeps them equal), and "verify":
# verification calls (`registry.queries.verify`).
QueryKind = Literal["count", "sum", "avg", "var", "stddev", "histogram", "quantile", "min", "max", "linreg", "verify"]
ColumnName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
Purpose = Annotated[str, Field(min_length=1, max_length=200)]
OfferKindName = Literal["one_off", "subscription", "metered", "negotiable"]
BasisName = Literal["cost", "revenue", "negotiated"]
Bps = Annotated[int, Field(strict=True, ge=0, le=10_000)]


class Tier(Strict):
    min_quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
    unit_price_fen: Fen


class ProviderShare(Strict):
    account_id: Uuid
    bps: Bps


class SplitIn(Strict):
    """Basis points per payee; they must sum to exactly 10,000 (the contract's BasisPointsNotExact)."""

    providers: list[ProviderShare] = Field(default_factory=list, max_length=5)
    operator: Bps = 0
    authority: Bps = Field(0, description="public-revenue share, paid to the authorizing authority")
    exchange: Bps = Field(0, description="exchange fee")


class TermsIn(Strict):
    """The usage policy every license bought under the offer carries."""

    purposes: Annotated[list[Purpose], Field(min_length=1, max_length=20)]
    query_kinds: Annotated[list[QueryKind], Field(min_length=1, max_length=len(QueryKind.__args__))]
    columns: Annotated[list[ColumnName], Field(min_length=1, max_length=200)]
    max_queries: Annotated[int, Field(
        strict=True, ge=1, le=10**9, description="per license (per period for subscriptions); "
                                      "metered licenses get the quantity bought")] = 1000
    epsilon: Annotated[float, Field(
        strict=True, gt=0, le=1000, description="privacy budget per license (per period)")] = 1.0
    delta: Annotated[float, Field(strict=True, ge=0, lt=1, description="per license (per period)")] = 1e-6
    rho: Annotated[float | None, Field(
        strict=True, gt=0, le=1000, description="zCDP budget, when the product uses it")] = None
    validity_days: Annotated[int, Field(strict=True, ge=1, le=3650, description="one-off and metered licenses")] = 365
    no_resale: Literal[True] = True
    budget_window: BudgetWindow | None = Field(
        None, description="the license's privacy budget and query count refresh every calendar day, ISO week "
        "(from Monday) or month, UTC; null: never. A metered license's prepaid queries never refresh.")


class OfferIn(Strict):
    kind: OfferKindName
    basis: BasisName
    tiers: list[Tier] = Field(default_factory=list, max_length=8)
    term_days: Annotated[int | None, Field(strict=True, ge=1, le=3650, description="subscription period")] = None
    refund_window_seconds: Annotated[int, Field(strict=True, ge=0, le=90 * 86400)] = 0
    split: SplitIn
    terms: TermsIn

    @model_validator(mode="after")
    def _shape(self) -> OfferIn:
        if self.kind == "negotiable":
            if self.tiers:
                raise ValueError("tiers: a negotiable offer has no price; it is agreed in a negotiation")
        elif not self.tiers:
            raise ValueError("tiers: at least one tier (min_quantity 1) is required")
        if self.kind == "one_off" and len(self.tiers) > 1:
            raise ValueError("tiers: a one-off license has a single price")
        if (self.kind == "subscription") != (self.term_days is not None):
            raise ValueError("term_days: required for subscriptions and only for them")
        return self


class PayeeOut(BaseModel):
    account_id: str
    role: str
    address: str
    bps: int


class OfferOut(BaseModel):
    id: str
    product_id: str
    kind: str
    basis: str
    tiers: list[Tier]
    term_days: int | None
    refund_window_seconds: int
    payees: list[PayeeOut]
    terms: dict[str, Any]
    buyer_id: str | None
    negotiation_id: str | None
    active: bool
    price_cap_fen: int | None
    chain: ChainReceiptOut


class PriceCapIn(Strict):
    cap_fen: Annotated[Fen, Field(description="highest unit price in fen; 0 removes the cap")]


class PriceCapOut(BaseModel):
    product_id: str
    cap_fen: int
    chain: ChainReceiptOut


class QuotePayee(PayeeOut):
    amount_fen: int


class QuoteOut(BaseModel):
    product_id: str
    offer_id: str
    kind: str
    quantity: int
    unit_price_fen: int
    amount_fen: int = Field(description="the price: what the payees receive in total")
    voucher_id: str | None
    voucher_fen: int = Field(description="paid by the voucher")
    payable_fen: int = Field(description="paid from the buyer's balance")
    payees: list[QuotePayee]
    bps_total: int
    remainder_fen: int = Field(description="fen left after flooring every share, given out by the rule below")
    remainder_rule: str
    source: str = Field(description="where the numbers come from: the settlement contract's rules, computed over "
                                    "the offer as the chain holds it")
    cap_fen: int | None = Field(None, description="the unit-price cap binding this offer's charge form now")


SectorCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class ProgrammeIn(Strict):
    """A voucher programme (算力券/数据券): the authority's budget per year and the rules its vouchers obey."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    annual_budget_fen: PositiveFen = Field(description="fen issuable per budget year (calendar year, UTC+8)")
    max_share_bps: Annotated[int, Field(strict=True, ge=1, le=10_000,
                                        description="the largest share of a price a voucher may pay")]
    starts_at: datetime = Field(description="vouchers may be spent from this time")
    ends_at: datetime = Field(description="... until this time (exclusive)")
    sectors: list[SectorCode] = Field(default_factory=list, max_length=20, description="empty: any sector")
    product_ids: list[Uuid] = Field(default_factory=list, max_length=20, description="empty: any product")
    holder_ids: list[Uuid] = Field(min_length=1, max_length=64, description="the allow-list: buyer accounts")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Hohhot compute and data vouchers 2026", "annual_budget_fen": 5_000_000_000, "max_share_bps": 3000,
        "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2027-01-01T00:00:00+08:00",
        "sectors": ["agriculture"], "product_ids": [], "holder_ids": ["9b2f7c1e-4d3a-4f6b-8e2d-1c0a9b8e7f6d"]}]})


class VoucherIn(Strict):
    programme_id: Uuid = Field(description="the programme it is issued under (its budget, allow-list and rules)")
    holder_id: Uuid
    amount_fen: PositiveFen
    expires_at: datetime
    sectors: list[SectorCode] = Field(default_factory=list, max_length=20)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "programme_id": "3f6c2a9e-8b1d-4e7f-9a2c-5d4b3e2f1a0b", "holder_id": "9b2f7c1e-4d3a-4f6b-8e2d-1c0a9b8e7f6d",
        "amount_fen": 150_000, "expires_at": "2026-12-31T00:00:00+08:00", "sectors": []}]})


class VoucherOut(BaseModel):
    id: str
    programme_id: str | None
    authority_id: str
    holder_id: str
    amount_fen: int
    redeemed_fen: int
    reclaimed_fen: int = Field(description="taken back by the authority after expiry")
    remaining_fen: int
    expires_at: datetime
    expired: bool
    sectors: list[str]
    chain: ChainReceiptOut


class ScheduleOffer(BaseModel):
    offer_id: str
    kind: str
    basis: str = Field(description="pricing basis: cost, revenue or negotiated (价格形成机制)")
    term_days: int | None
    tiers: list[dict[str, int]] = Field(description="min_quantity and unit_price_fen per volume tier")
    cap_fen: int | None = Field(None, description="the unit-price cap binding this offer's charge form now")


class ScheduleProduct(BaseModel):
    code: str
    title: str
    operator: str
    sector: str
    price_cap_fen: int | None = Field(description="the authority's unit-price cap, enforced on chain; null: none")
    offers: list[ScheduleOffer]


class ChargeScheduleOut(BaseModel):
    rule: str = Field(description="the use-category rule: public-welfare use is free of charge")
    products: list[ScheduleProduct]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class ProgrammeOut(BaseModel):
    id: str
    authority_id: str
    name: str
    annual_budget_fen: int
    max_share_bps: int
    starts_at: datetime
    ends_at: datetime
    sectors: list[str]
    product_ids: list[str]
    holder_ids: list[str]
    budget_year: int = Field(description="the current budget year (calendar year, UTC+8)")
    issued_fen: int = Field(description="issued this budget year")
    remaining_fen: int = Field(description="still issuable this budget year")
    redeemed_fen: int = Field(description="redeemed from its vouchers, all years")
    chain: ChainReceiptOut


class ProgrammeDetailOut(ProgrammeOut):
    vouchers: list[VoucherOut]


class PublicWelfareUserIn(Strict):
    account_id: Uuid = Field(description="a buyer account: a government department or public institution")
    eligible: bool = Field(description="true: may take free public-welfare licenses from now on; false: no longer")
    reason: Annotated[str, Field(min_length=1, max_length=500,
                                 description="why (e.g. the approval document), kept in the ledger record")]

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "account_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "eligible": True,
        "reason": "Municipal emergency-management bureau: flood-risk planning (approval 2026-17)"}]})


class PublicWelfareUserOut(BaseModel):
    account_id: str
    address: str
    eligible: bool
    reason: str
    authority_id: str
    updated_at: datetime
    chain: ChainReceiptOut


class OrderIn(Strict):
    offer_id: Uuid
    quantity: Quantity = 1
    purpose: Purpose | None = Field(None, description="one of the offer's purposes (default: its first)")
    voucher_id: Uuid | None = None
    voucher_amount_fen: Fen | None = Field(None, description="default: as much of the price as the voucher covers")
    use: Use = Field(Use.COMMERCIAL, description="commercial (pays the price) or public_welfare (公共治理、公益事业: "
                     "free of charge, for accounts the authority has named; no voucher)")


class OrderOut(BaseModel):
    id: str
    state: str
    buyer_id: str
    product_id: str
    offer_id: str
    quantity: int
    license_id: str
    amount_fen: int | None
    voucher_id: str | None
    voucher_fen: int | None
    terms_hash: str
    error: str | None
    use: Use
    created_at: datetime
    paid_at: datetime | None
    chain: ChainReceiptOut


class LicenseOut(BaseModel):
    id: str
    order_id: str
    buyer_id: str
    product_id: str
    offer_id: str
    kind: str
    status: str
    quantity: int
    unit_price_fen: int
    amount_fen: int
    voucher_fen: int
    terms: dict[str, Any]
    terms_hash: str
    max_queries: int
    queries_used: int
    queries_left: int = Field(description="in the current budget window (the whole license when it has none)")
    epsilon_budget: float = Field(description="per budget window when the license has one")
    delta_budget: float
    epsilon_left: float
    delta_left: float
    budget_window: str | None = Field(description="day, week or month (UTC); null: the budget never refreshes")
    window_start: datetime | None
    window_refreshes_at: datetime | None = Field(description="when the next window starts fresh (UTC)")
    window_queries_used: int
    window_epsilon_spent: float
    window_delta_spent: float
    valid_from: datetime
    valid_until: datetime
    refundable_until: int | None = Field(description="chain time (unix s) before which an unused license can "
                                         "be refunded; null when paid out at once")
    payouts: list[dict[str, Any]]
    use: Use = Field(description="declared use category: public_welfare licenses are free of charge")
    chain: ChainReceiptOut


class ChargeOut(BaseModel):
    id: str
    license_id: str
    product_id: str
    unit_price_fen: int
    epsilon: float
    delta: float
    kinds: list[str]
    refunded: bool
    window_start: datetime | None = Field(description="the license's budget window the charge was drawn from")
    created_at: datetime


class NegotiationIn(Strict):
    offer_id: Uuid = Field(description="the offer negotiated from (usually a negotiable one)")
    kind: Literal["one_off", "subscription", "metered"]
    quantity: Quantity = 1
    term_days: Annotated[int | None, Field(strict=True, ge=1, le=3650)] = None
    unit_price_fen: Fen | None = Field(None, description="the buyer's proposed unit price")
    terms: TermsIn | None = Field(None, description="proposed usage terms (default: the offer's)")
    message: Annotated[str, Field(max_length=2000)] = ""


class CounterIn(Strict):
    """An operator's offer or a buyer's counter-request."""

    unit_price_fen: Fen
    quantity: Quantity | None = None
    terms: TermsIn | None = None
    valid_for_seconds: Annotated[int, Field(
        strict=True, ge=1, le=90 * 86400, description="deadline to answer")] = 7 * 86400
    message: Annotated[str, Field(max_length=2000)] = ""


class NoteIn(Strict):
    message: Annotated[str, Field(max_length=2000)] = ""


class NegotiationEventOut(BaseModel):
    actor_id: str
    from_state: str | None
    to_state: str
    data: dict[str, Any]
    created_at: datetime


class NegotiationOut(BaseModel):
    id: str
    product_id: str
    base_offer_id: str
    buyer_id: str
    operator_id: str
    state: str
    turn: str | None
    kind: str
    quantity: int
    term_days: int | None
    unit_price_fen: int | None
    terms: dict[str, Any]
    deadline: datetime | None
    agreed_offer_id: str | None
    license_id: str | None
    reason: str | None
    events: list[NegotiationEventOut]


class MintIn(Strict):
    account_id: Uuid
    amount_fen: PositiveFen
