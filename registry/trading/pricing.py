"""Quotes: the exact price of an offer and quantity and its split among the payees, to the fen.

Both numbers are the settlement contract's own rules (`priceOf`, `splitOf`) computed in process
(`ledger.settlement_rules`) over the offer as the chain holds it (`ledger.offer_book`: read once, re-checked
against the chain's offer events), so the quote is the payment: the contract stays the rule, and a test holds
the local rules to `eth_call` on thousands of random cases. A quote makes no JSON-RPC request once the offer
is cached.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from ledger.contracts import Ledger
from ledger.errors import ChainUnavailable, ContractRevert
from ledger.ids import chain_id_of, hex32
from ledger.settlement_rules import split_of
from registry.actor import Actor
from registry.chain import ChainGateway
from registry.errors import ChainRejected, ChainUnavailableError, Conflict, InvalidInput, RuleViolation
from registry.limits import MAX_FEN
from registry.models import Product
from registry.products import visible_product
from registry.trading.caps import cap_at, now
from registry.trading.models import Offer, OfferKind
from registry.trading.offers import visible_offer
from registry.trading.schemas import QuoteOut, QuotePayee
from registry.trading.tiers import tier_unit_price
from registry.trading.vouchers import check_voucher

REMAINDER_RULE = ("each payee gets floor(amount x bps / 10000); the fen left over (fewer than the payees) go one "
                  "each to the payees with the largest fractional parts, ties to the earlier payee "
                  "(largest-remainder method, Settlement.splitOf)")


QUOTE_SOURCE = ("Settlement.priceOf + Settlement.splitOf, the contract's rules computed over the offer as the chain "
                "holds it (ledger.settlement_rules, held to eth_call by tests)")


@dataclass(frozen=True)
class Price:
    unit_price_fen: int
    amount_fen: int
    shares: list[int]


def check_quantity(offer: Offer, quantity: int) -> None:
    """What each kind of offer may be bought in."""
    if offer.kind == OfferKind.NEGOTIABLE:
        raise InvalidInput("offer_id", "a negotiable offer has no price: open a negotiation (POST /negotiations)")
    if offer.kind == OfferKind.ONE_OFF and quantity != 1:
        raise InvalidInput("quantity", "a one-off license is bought with quantity 1")


def require_on_chain(offer: Offer) -> None:
    if offer.chain_state != "confirmed":
        raise Conflict(f"offer {offer.id} is not on chain yet ({offer.chain_state}); try again shortly")


def unit_price_of(offer: Offer, quantity: int) -> int:
    """The unit price of the highest tier reached, for display and metered statements (the contract's
    priceOf decides the charge; `price()` returns both and a test keeps them equal)."""
    return tier_unit_price(offer.tiers, quantity)


def price_of(ledger: Ledger, offer: Offer, quantity: int) -> int:
    """The contract's price (`priceOf` over the chain's offer), held to the bound of every amount (422 naming the
    quantity)."""
    amount = ledger.offers.get(offer.id).price_of(quantity)
    if amount > MAX_FEN:
        raise InvalidInput("quantity", f"the price of quantity {quantity} is {amount} fen, over the bound of "
                           f"{MAX_FEN} fen for any amount")
    return amount


def price(ledger: Ledger, offer: Offer, quantity: int) -> Price:
    """The contract's price and split (raises ChainUnavailable or ContractRevert)."""
    amount = price_of(ledger, offer, quantity)
    shares = split_of(amount, [p["bps"] for p in offer.payees])
    return Price(unit_price_of(offer, quantity), amount, shares)


def quote(gateway: ChainGateway, actor: Actor, product: Product, offer: Offer, quantity: int,
          voucher_id: str | None = None, voucher_fen: int = 0) -> QuoteOut:
    """Price, payees and the voucher's part. Needs the chain (503 with Retry-After when it is down)."""
    check_quantity(offer, quantity)
    require_on_chain(offer)
    if not offer.active:
        raise RuleViolation("OfferInactive", offerId=hex32(chain_id_of(offer.id)))
    try:
        p = price(gateway.ledger, offer, quantity)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(f"quotes come from the settlement contract, which is unreachable: {exc}") from exc
    except ContractRevert as exc:
        raise ChainRejected(exc) from exc
    if voucher_fen > p.amount_fen:
        raise RuleViolation("VoucherAboveAmount", voucherAmount=voucher_fen, amount=p.amount_fen)
    payees = [QuotePayee(**payee, amount_fen=share) for payee, share in zip(offer.payees, p.shares, strict=True)]
    floors = sum(p.amount_fen * payee["bps"] // 10_000 for payee in offer.payees)
    return QuoteOut(product_id=product.id, offer_id=offer.id, kind=offer.kind, quantity=quantity,
                    unit_price_fen=p.unit_price_fen, amount_fen=p.amount_fen, voucher_id=voucher_id,
                    voucher_fen=voucher_fen, payable_fen=p.amount_fen - voucher_fen, payees=payees,
                    bps_total=sum(x.bps for x in payees), remainder_fen=p.amount_fen - floors,
                    remainder_rule=REMAINDER_RULE, source=QUOTE_SOURCE)


def quote_offer(session: Session, gateway: ChainGateway, actor: Actor, ref: str, offer_id: str, quantity: int,
                voucher_id: str | None, voucher_amount_fen: int | None) -> QuoteOut:
    """The quote of an offer of product `ref` the actor can see, less the voucher's part when one is named."""
    product = visible_product(session, actor, ref)
    offer = visible_offer(session, actor, offer_id)
    if offer.product_id != product.id:
        raise InvalidInput("offer_id", f"offer {offer_id} is not an offer of {product.code}")
    base = quote(gateway, actor, product, offer, quantity).model_copy(
        update={"cap_fen": cap_at(session, product.id, offer.kind, now())})
    if voucher_id is None:
        return base
    _, use = check_voucher(session, actor, voucher_id, product, base.amount_fen, voucher_amount_fen)
    return base.model_copy(update={"voucher_id": voucher_id, "voucher_fen": use,
                                   "payable_fen": base.amount_fen - use})
