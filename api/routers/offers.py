"""Offers, price caps, budget policies (per buyer and product-wide) and quotes on a product."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import AnyCtx, AuthorityCtx, OperatorCtx, PublisherCtx
from registry.limits import MAX_FEN, MAX_QUANTITY
from registry.products import visible_product
from registry.trading import budget_usage as usage
from registry.trading import caps, product_budget
from registry.trading import offers as svc
from registry.trading.budget_schemas import BudgetPolicyIn, BudgetUsageOut, TotalBudgetIn, TotalBudgetOut
from registry.trading.cap_schemas import ChargeForm, PriceCapRuleIn, PriceCapRuleOut
from registry.trading.licenses import set_budget_policy
from registry.trading.pricing import quote_offer
from registry.trading.schemas import (
    OfferIn,
    OfferOut,
    PriceCapIn,
    PriceCapOut,
    QuoteOut,
)

router = APIRouter(tags=["trading"])


@router.post("/products/{ref}/offers", status_code=201, response_model=OfferOut,
             summary="Offer a product: one-off, subscription, metered or negotiable, with its split (operator, own)")
def create(ref: str, body: OfferIn, c: OperatorCtx) -> OfferOut:
    row = svc.create_offer(c.session, c.gateway, c.actor, ref, body)
    c.commit()
    return svc.offer_view(c.session, row)


@router.get("/products/{ref}/offers", response_model=list[OfferOut], summary="A product's offers")
def list_offers(ref: str, c: AnyCtx) -> list[OfferOut]:
    return [svc.offer_view(c.session, o) for o in svc.list_offers(c.session, c.actor, ref)]


@router.get("/offers/{offer_id}", response_model=OfferOut, summary="One offer")
def get(offer_id: str, c: AnyCtx) -> OfferOut:
    return svc.offer_view(c.session, svc.visible_offer(c.session, c.actor, offer_id))


@router.post("/offers/{offer_id}/withdraw", response_model=OfferOut, summary="Withdraw an offer (operator, own)")
def withdraw(offer_id: str, c: OperatorCtx) -> OfferOut:
    row = svc.withdraw_offer(c.session, c.gateway, c.actor, offer_id)
    c.commit()
    return svc.offer_view(c.session, row)


@router.put("/products/{ref}/price-cap", response_model=PriceCapOut,
            summary="Cap the unit price of a public-data product (authority)")
def price_cap(ref: str, body: PriceCapIn, c: AuthorityCtx) -> PriceCapOut:
    row = svc.set_price_cap(c.session, c.gateway, c.actor, ref, body.cap_fen)
    c.commit()
    return svc.price_cap_view(row)


@router.put("/products/{ref}/price-caps/{form}", response_model=PriceCapRuleOut,
            summary="Cap one charge form of a product, with its effective date and trial period (authority)")
def price_cap_rule(ref: str, form: ChargeForm, body: PriceCapRuleIn, c: AuthorityCtx) -> PriceCapRuleOut:
    row = caps.set_rule(c.session, c.gateway, c.actor, ref, form, body)
    c.commit()
    return caps.rule_view(c.session, row)


@router.get("/products/{ref}/price-caps", response_model=list[PriceCapRuleOut],
            summary="A product's caps per charge form and the cap binding each now")
def price_cap_rules(ref: str, c: AnyCtx) -> list[PriceCapRuleOut]:
    return [caps.rule_view(c.session, r) for r in caps.rules_of(c.session, c.actor, ref)]


@router.put("/products/{ref}/budget-policy", response_model=BudgetPolicyIn,
            summary="Privacy budget one buyer may spend on the product across licenses (operator, own)")
def budget_policy(ref: str, body: BudgetPolicyIn, c: OperatorCtx) -> BudgetPolicyIn:
    set_budget_policy(c.session, c.actor, ref, body.epsilon, body.delta, body.rho)
    c.commit()
    return body


@router.put("/products/{ref}/total-budget", response_model=TotalBudgetOut,
            summary="Privacy budget all buyers together may spend on the product (its operator, or the authority)")
def set_total_budget(ref: str, body: TotalBudgetIn, c: PublisherCtx) -> TotalBudgetOut:
    row = product_budget.set_total_budget(c.session, c.actor, ref, body.epsilon, body.delta)
    c.commit()
    return product_budget.total_view(c.session, row.product_id)


@router.get("/products/{ref}/total-budget", response_model=TotalBudgetOut,
            summary="The product-wide privacy budget: its cap, what all buyers spent, what is left")
def total_budget(ref: str, c: AnyCtx) -> TotalBudgetOut:
    return product_budget.total_view(c.session, visible_product(c.session, c.actor, ref).id)


@router.get("/products/{ref}/budget-usage", response_model=BudgetUsageOut,
            summary="The product-wide budget and (a buyer's) own budget on the product, each with its spend over time")
def budget_usage(ref: str, c: AnyCtx) -> BudgetUsageOut:
    return usage.budget_usage(c.session, c.actor, ref)


@router.get("/products/{ref}/quote", response_model=QuoteOut,
            summary="Exact price of an offer and quantity, split among the payees, minus any voucher")
def get_quote(ref: str, c: AnyCtx, offer_id: str = Query(...), quantity: int = Query(1, ge=1, le=MAX_QUANTITY),
              voucher_id: str | None = Query(None),
              voucher_amount_fen: int | None = Query(None, ge=0, le=MAX_FEN)) -> QuoteOut:
    return quote_offer(c.session, c.gateway, c.actor, ref, offer_id, quantity, voucher_id, voucher_amount_fen)
