"""Offers: how a product is sold (one-off, subscription, metered, negotiable), its tiers, its payee split,
its usage terms; and the authority's price cap. Offers with a price are published on chain.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from ledger.ids import chain_id_of, hex32
from ledger.records import append_record
from registry.access import sees
from registry.actor import Actor
from registry.chain import ChainGateway, submit
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, found
from registry.models import Account, Authorization, Product, Review, Role
from registry.products import owned_product, visible_product
from registry.schemas import ChainReceiptOut
from registry.signing import new_id
from registry.trading.caps import cap_at, now
from registry.trading.models import Offer, OfferKind, PriceCap
from registry.trading.schemas import OfferIn, OfferOut, PayeeOut, PriceCapOut, SplitIn, TermsIn, Tier

TOTAL_BPS = 10_000
MAX_PAYEES = 8
MAX_TIERS = 8


# ------------------------------------------------------------------ price caps

def price_cap_of(session: Session, product_id: str) -> int | None:
    row = session.get(PriceCap, product_id)
    return row.cap_fen if row is not None and row.cap_fen > 0 else None


def set_price_cap(session: Session, gateway: ChainGateway, actor: Actor, ref: str, cap_fen: int) -> PriceCap:
    """The authority caps the unit price of a public-data product (Settlement.setPriceCap)."""
    actor.require(Role.AUTHORITY)
    product = visible_product(session, actor, ref)
    row = session.get(PriceCap, product.id) or PriceCap(product_id=product.id, authority_id=actor.id, cap_fen=0)
    row.cap_fen, row.authority_id = cap_fen, actor.id
    session.add(row)
    tx = submit(session, gateway, subject_type="price_cap", subject_id=product.id, action="price_cap.set",
                payload={"product_id": product.id, "authority_id": actor.id, "cap_fen": cap_fen})
    row.chain_state, row.tx_hash, row.block_number, row.log_index = (tx.state, tx.tx_hash, tx.block_number,
                                                                     tx.log_index)
    append_record(session, kind="price_cap.set", actor=actor.id, subject=product.id,
                  authorization=product.authorization_id, data={"cap_fen": cap_fen})
    return row


def price_cap_view(row: PriceCap) -> PriceCapOut:
    return PriceCapOut(product_id=row.product_id, cap_fen=row.cap_fen, chain=receipt_of(row))


def check_price_cap(session: Session, product: Product, unit_prices: list[int], kind: str | None) -> None:
    """PriceAboveCap, as the contract names it, with the offending price and the cap binding `kind` now."""
    cap = cap_at(session, product.id, kind, now())
    for price in unit_prices:
        if cap is not None and price > cap:
            raise RuleViolation("PriceAboveCap", productId=hex32(chain_id_of(product.id)), unitPrice=price, cap=cap,
                                product=product.code)


# --------------------------------------------------------------------- payees

def _exchange_of(session: Session, product: Product) -> str:
    """The exchange account that approved the product (its fee is paid there), else the first exchange."""
    stmt = (select(Review.reviewer_id).where(Review.product_id == product.id)
            .where(Review.decision == "approve").order_by(col(Review.pk).desc()))
    reviewer = session.exec(stmt).first()
    if reviewer is not None:
        return reviewer
    first = session.exec(select(Account.id).where(Account.role == Role.EXCHANGE).order_by(col(Account.pk))).first()
    if first is None:
        raise Conflict("no exchange account exists to receive the exchange fee")
    return first


def resolve_payees(session: Session, product: Product, split: SplitIn) -> list[dict[str, Any]]:
    """Payees named by role: the product's providers, its operator, the authorizing authority, the exchange."""
    authority_id = session.exec(select(Authorization.authority_id)
                                .where(Authorization.id == product.authorization_id)).one()
    entries: list[tuple[str, str, int]] = []
    for i, share in enumerate(split.providers):
        if share.account_id not in product.provider_ids:
            raise InvalidInput(f"split.providers[{i}].account_id", "not one of the product's providers")
        entries.append((share.account_id, "provider", share.bps))
    entries += [(product.operator_id, "operator", split.operator), (authority_id, "authority", split.authority),
                (_exchange_of(session, product), "exchange", split.exchange)]
    total = sum(bps for _, _, bps in entries)
    if total != TOTAL_BPS:
        raise RuleViolation("BasisPointsNotExact", sum=total)
    entries = [e for e in entries if e[2] > 0]
    if len(entries) > MAX_PAYEES:
        raise RuleViolation("BadPayees", payees=len(entries), bps=len(entries))
    ids = [e[0] for e in entries]
    addresses = dict(session.exec(select(Account.id, Account.address).where(col(Account.id).in_(ids))).all())
    return [{"account_id": a, "role": role, "address": addresses[a], "bps": bps} for a, role, bps in entries]


# --------------------------------------------------------------------- offers

def check_tiers(tiers: list[Tier]) -> None:
    """BadTiers (the contract's rule): the first tier starts at 1, minimum quantities strictly ascend."""
    if len(tiers) > MAX_TIERS:
        raise InvalidInput("tiers", f"BadTiers: at most {MAX_TIERS} tiers")
    if tiers and tiers[0].min_quantity != 1:
        raise InvalidInput("tiers[0].min_quantity", "BadTiers: the first tier must start at quantity 1")
    for i in range(1, len(tiers)):
        if tiers[i].min_quantity <= tiers[i - 1].min_quantity:
            raise InvalidInput(f"tiers[{i}].min_quantity", "BadTiers: minimum quantities must strictly ascend")


def check_terms(product: Product, terms: TermsIn) -> None:
    known = {c["name"] for c in product.columns}
    for i, name in enumerate(terms.columns):
        if name not in known:
            raise InvalidInput(f"terms.columns[{i}]", f"{name} is not a column of product {product.code}")


def create_offer(session: Session, gateway: ChainGateway, actor: Actor, ref: str, data: OfferIn, *,
                 buyer_id: str | None = None, negotiation_id: str | None = None) -> Offer:
    """An operator's offer on its product; priced offers are published on chain (private when `buyer_id`)."""
    product = owned_product(session, actor, ref)
    check_tiers(data.tiers)
    check_terms(product, data.terms)
    check_price_cap(session, product, [t.unit_price_fen for t in data.tiers], data.kind)
    payees = resolve_payees(session, product, data.split)
    offer = Offer(id=new_id(session), product_id=product.id, operator_id=actor.id, kind=data.kind,
                  basis=data.basis, tiers=[[t.min_quantity, t.unit_price_fen] for t in data.tiers],
                  term_days=data.term_days, refund_window=data.refund_window_seconds, payees=payees,
                  terms=data.terms.model_dump(mode="json"), buyer_id=buyer_id, negotiation_id=negotiation_id)
    session.add(offer)
    session.flush()
    if offer.kind != OfferKind.NEGOTIABLE:
        buyer = session.exec(select(Account.address).where(Account.id == buyer_id)).one() if buyer_id else None
        submit(session, gateway, subject_type="offer", subject_id=offer.id, action="offer.publish",
               payload={"offer_id": offer.id, "product_id": product.id, "operator_id": actor.id,
                        "kind": offer.kind, "tiers": offer.tiers, "payees": [[p["address"], p["bps"]] for p in payees],
                        "refund_window": offer.refund_window, "buyer": buyer})
    append_record(session, kind="offer.publish", actor=actor.id, subject=product.id,
                  authorization=product.authorization_id,
                  data={"offer_id": offer.id, "kind": offer.kind, "basis": offer.basis, "tiers": offer.tiers,
                        "payees": [{"account_id": p["account_id"], "role": p["role"], "bps": p["bps"]}
                                   for p in payees], "buyer_id": buyer_id})
    if buyer_id is None:
        refresh_catalog_prices(session, product)
    return offer


def withdraw_offer(session: Session, gateway: ChainGateway, actor: Actor, offer_id: str) -> Offer:
    offer = get_offer(session, offer_id)
    owned_product(session, actor, offer.product_id)
    if not offer.active:
        raise RuleViolation("OfferInactive", offerId=hex32(chain_id_of(offer.id)))
    offer.active = False
    session.add(offer)
    if offer.kind != OfferKind.NEGOTIABLE:
        submit(session, gateway, subject_type="offer", subject_id=offer.id, action="offer.withdraw",
               payload={"offer_id": offer.id, "operator_id": actor.id})
    append_record(session, kind="offer.withdraw", actor=actor.id, subject=offer.product_id,
                  data={"offer_id": offer.id})
    refresh_catalog_prices(session, session.exec(select(Product).where(Product.id == offer.product_id)).one())
    return offer


def refresh_catalog_prices(session: Session, product: Product) -> None:
    """Keep the product's catalog summary (`offers`, `price_from_fen`) in step with its public offers."""
    session.flush()
    rows = session.exec(select(Offer).where(Offer.product_id == product.id).where(Offer.active == True)  # noqa: E712
                        .where(col(Offer.buyer_id).is_(None)).order_by(col(Offer.pk))).all()
    product.offers = [{"id": o.id, "kind": o.kind, "basis": o.basis, "tiers": o.tiers, "term_days": o.term_days}
                      for o in rows]
    prices = [t[1] for o in rows for t in o.tiers]
    product.price_from_fen = min(prices) if prices else None
    session.add(product)


def get_offer(session: Session, offer_id: str) -> Offer:
    return found(session.exec(select(Offer).where(Offer.id == offer_id)).first(), f"offer {offer_id}")


def visible_offer(session: Session, actor: Actor, offer_id: str) -> Offer:
    """A private (negotiated) offer is visible to its buyer, its operator and the overseers only."""
    row = get_offer(session, offer_id)
    visible_product(session, actor, row.product_id)
    if row.buyer_id is not None and not sees(actor, row.buyer_id, row.operator_id):
        raise NotFound(f"offer {offer_id} not found")
    return row


def list_offers(session: Session, actor: Actor, ref: str) -> list[Offer]:
    product = visible_product(session, actor, ref)
    rows = session.exec(select(Offer).where(Offer.product_id == product.id).order_by(col(Offer.pk))).all()
    return [o for o in rows if o.buyer_id is None or sees(actor, o.buyer_id, product.operator_id)]


def receipt_of(row: Any) -> ChainReceiptOut:
    return ChainReceiptOut(state=row.chain_state, tx_hash=row.tx_hash, block_number=row.block_number,
                           log_index=row.log_index)


def offer_view(session: Session, row: Offer) -> OfferOut:
    return OfferOut(id=row.id, product_id=row.product_id, kind=row.kind, basis=row.basis,
                    tiers=[Tier(min_quantity=q, unit_price_fen=u) for q, u in row.tiers], term_days=row.term_days,
                    refund_window_seconds=row.refund_window, payees=[PayeeOut(**p) for p in row.payees],
                    terms=row.terms, buyer_id=row.buyer_id, negotiation_id=row.negotiation_id, active=row.active,
                    price_cap_fen=price_cap_of(session, row.product_id), chain=receipt_of(row))


def require_operator_of(actor: Actor, product: Product) -> None:
    if actor.id != product.operator_id:
        raise Forbidden(f"only the operator of {product.code} may do this")
