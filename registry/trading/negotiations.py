"""Contract negotiation (the data-space model): requested -> offered -> accepted -> agreed -> finalized,
or terminated. The buyer requests (and counter-requests); the operator offers; the buyer accepts; the
operator agrees, which publishes a private offer for this buyer on chain; buying the license under it
finalizes. Either party may terminate; an unanswered step expires at its deadline. Only the party whose
turn it is may act, and every transition is an event row and a ledger record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ledger.records import append_record
from registry.access import oversees, own_rows, require_servable
from registry.actor import Actor
from registry.chain import ChainGateway
from registry.errors import Conflict, InvalidInput, NotFound, found
from registry.limits import MAX_FEN
from registry.models import Role
from registry.products import get_product
from registry.signing import new_id
from registry.trading.errors import NegotiationClosed, NotYourTurn
from registry.trading.models import Negotiation, NegotiationEvent, Offer
from registry.trading.models import NegotiationState as S
from registry.trading.offers import check_price_cap, check_terms, create_offer, visible_offer
from registry.trading.schemas import (
    CounterIn,
    NegotiationEventOut,
    NegotiationIn,
    NegotiationOut,
    OfferIn,
    ProviderShare,
    SplitIn,
    TermsIn,
    Tier,
)

REQUEST_TTL = timedelta(days=7)
OPEN = (S.REQUESTED, S.OFFERED, S.ACCEPTED)
CLOSED = (S.FINALIZED, S.TERMINATED)


class NegotiationExpired(NegotiationClosed):
    """The step's deadline passed: the negotiation is now terminated (that transition is kept)."""

    def __init__(self, detail: str) -> None:
        super().__init__("NegotiationExpired", detail)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def _transition(session: Session, row: Negotiation, actor_id: str, to: S, turn: str | None,
                **data: Any) -> None:
    """Move to `to`, record the event and the ledger record (subject: the product)."""
    frm = row.state
    row.state, row.turn, row.updated_at = to, turn, _now()
    session.add(row)
    clean = {k: v for k, v in data.items() if v is not None}
    session.add(NegotiationEvent(negotiation_id=row.id, actor_id=actor_id, from_state=frm, to_state=to, data=clean))
    append_record(session, kind=f"negotiation.{to.value}", actor=actor_id, subject=row.product_id,
                  data={"negotiation_id": row.id, "from": frm, "to": to.value, **clean})


def _party(actor: Actor, row: Negotiation) -> str:
    if actor.id == row.buyer_id:
        return "buyer"
    if actor.id == row.operator_id:
        return "operator"
    raise NotFound(f"negotiation {row.id} not found")


def _guard(session: Session, actor: Actor, row: Negotiation, party: str, states: tuple[S, ...]) -> None:
    """Closed, expired, not a party, not your turn, or not a step allowed in this state."""
    who = _party(actor, row)
    if row.state in CLOSED:
        raise NegotiationClosed(f"Negotiation{row.state.capitalize()}", f"negotiation {row.id} is {row.state}")
    deadline = _aware(row.deadline)
    if row.state in OPEN and deadline is not None and _now() >= deadline:
        _transition(session, row, actor.id, S.TERMINATED, None, reason="expired",
                    deadline=deadline.isoformat(timespec="seconds"))
        row.reason = "expired"
        raise NegotiationExpired(f"negotiation {row.id} expired at {deadline.isoformat(timespec='seconds')} "
                                 f"while {row.turn} had to answer; it is now terminated")
    if who != party or who != row.turn:
        raise NotYourTurn(f"NotYourTurn: negotiation {row.id} is {row.state}; it is the {row.turn}'s turn, "
                          f"and this step belongs to the {party}")
    if row.state not in states:
        raise Conflict(f"IllegalNegotiationTransition: cannot do that from {row.state} "
                       f"(allowed from {', '.join(s.value for s in states)})")


def get_negotiation(session: Session, actor: Actor, negotiation_id: str) -> Negotiation:
    row = found(session.exec(select(Negotiation).where(Negotiation.id == negotiation_id)).first(),
                f"negotiation {negotiation_id}")
    if not oversees(actor):
        _party(actor, row)
    return row


def open_negotiation(session: Session, actor: Actor, data: NegotiationIn) -> Negotiation:
    """The buyer requests terms on an offer (usually a negotiable one); the operator's turn."""
    actor.require(Role.BUYER)
    try:
        base = visible_offer(session, actor, data.offer_id)
    except NotFound:
        raise InvalidInput("offer_id", f"unknown offer {data.offer_id}") from None
    if not base.active or base.buyer_id is not None:
        raise InvalidInput("offer_id", "negotiate from an active public offer")
    product = get_product(session, base.product_id)
    require_servable(session, product)
    if (data.kind == "subscription") != (data.term_days is not None):
        raise InvalidInput("term_days", "required for subscriptions and only for them")
    terms = data.terms or TermsIn(**base.terms)
    check_terms(product, terms)
    _check_amount(data.quantity, data.unit_price_fen)
    row = Negotiation(id=new_id(session), product_id=product.id, base_offer_id=base.id, buyer_id=actor.id,
                      operator_id=product.operator_id, state=S.REQUESTED, turn="operator", kind=data.kind,
                      quantity=data.quantity, term_days=data.term_days, unit_price_fen=data.unit_price_fen,
                      terms=terms.model_dump(mode="json"), deadline=_now() + REQUEST_TTL)
    session.add(row)
    session.flush()
    session.add(NegotiationEvent(negotiation_id=row.id, actor_id=actor.id, from_state=None, to_state=S.REQUESTED,
                                 data={"unit_price_fen": data.unit_price_fen, "quantity": data.quantity,
                                       "message": data.message}))
    append_record(session, kind="negotiation.requested", actor=actor.id, subject=product.id,
                  data={"negotiation_id": row.id, "from": None, "to": "requested", "offer_id": base.id,
                        "kind": data.kind, "quantity": data.quantity, "unit_price_fen": data.unit_price_fen})
    return row


def _check_amount(quantity: int, unit_price_fen: int | None) -> None:
    """The agreed amount (quantity x unit price) must stay within the bound of every amount."""
    if unit_price_fen is not None and quantity * unit_price_fen > MAX_FEN:
        raise InvalidInput("quantity", f"quantity x unit_price_fen = {quantity * unit_price_fen} fen, over the "
                           f"bound of {MAX_FEN} fen for any amount")


def _apply_counter(session: Session, row: Negotiation, data: CounterIn) -> None:
    product = get_product(session, row.product_id)
    check_price_cap(session, product, [data.unit_price_fen], row.kind)
    _check_amount(row.quantity if data.quantity is None else data.quantity, data.unit_price_fen)
    if data.terms is not None:
        check_terms(product, data.terms)
        row.terms = data.terms.model_dump(mode="json")
    row.unit_price_fen = data.unit_price_fen
    if data.quantity is not None:
        row.quantity = data.quantity
    row.deadline = _now() + timedelta(seconds=data.valid_for_seconds)


def make_offer(session: Session, actor: Actor, negotiation_id: str, data: CounterIn) -> Negotiation:
    """requested -> offered (operator): a price and terms the buyer must answer before the deadline."""
    row = get_negotiation(session, actor, negotiation_id)
    _guard(session, actor, row, "operator", (S.REQUESTED,))
    _apply_counter(session, row, data)
    _transition(session, row, actor.id, S.OFFERED, "buyer", unit_price_fen=data.unit_price_fen,
                quantity=row.quantity, deadline=row.deadline.isoformat(timespec="seconds") if row.deadline else None,
                message=data.message or None)
    return row


def counter_request(session: Session, actor: Actor, negotiation_id: str, data: CounterIn) -> Negotiation:
    """offered -> requested (buyer): a counter-proposal; the operator's turn again."""
    row = get_negotiation(session, actor, negotiation_id)
    _guard(session, actor, row, "buyer", (S.OFFERED,))
    _apply_counter(session, row, data)
    _transition(session, row, actor.id, S.REQUESTED, "operator", unit_price_fen=data.unit_price_fen,
                quantity=row.quantity, message=data.message or None)
    return row


def accept(session: Session, actor: Actor, negotiation_id: str) -> Negotiation:
    """offered -> accepted (buyer): the operator must now agree (publishing the private offer)."""
    row = get_negotiation(session, actor, negotiation_id)
    _guard(session, actor, row, "buyer", (S.OFFERED,))
    row.deadline = _now() + REQUEST_TTL
    _transition(session, row, actor.id, S.ACCEPTED, "operator", unit_price_fen=row.unit_price_fen)
    return row


def agree(session: Session, gateway: ChainGateway, actor: Actor, negotiation_id: str) -> Negotiation:
    """accepted -> agreed (operator): a private offer for this buyer goes on chain; the buyer buys it."""
    row = get_negotiation(session, actor, negotiation_id)
    _guard(session, actor, row, "operator", (S.ACCEPTED,))
    assert row.unit_price_fen is not None
    base = session.exec(select(Offer).where(Offer.id == row.base_offer_id)).one()
    split = SplitIn(
        providers=[ProviderShare(account_id=p["account_id"], bps=p["bps"]) for p in base.payees
                   if p["role"] == "provider"],
        operator=sum(p["bps"] for p in base.payees if p["role"] == "operator"),
        authority=sum(p["bps"] for p in base.payees if p["role"] == "authority"),
        exchange=sum(p["bps"] for p in base.payees if p["role"] == "exchange"))
    offer_in = OfferIn(kind=row.kind, basis="negotiated",
                       tiers=[Tier(min_quantity=1, unit_price_fen=row.unit_price_fen)], term_days=row.term_days,
                       refund_window_seconds=base.refund_window, split=split, terms=TermsIn(**row.terms))
    offer = create_offer(session, gateway, actor, row.product_id, offer_in, buyer_id=row.buyer_id,
                         negotiation_id=row.id)
    row.agreed_offer_id, row.deadline = offer.id, None
    _transition(session, row, actor.id, S.AGREED, "buyer", offer_id=offer.id, unit_price_fen=row.unit_price_fen,
                quantity=row.quantity)
    return row


def terminate(session: Session, actor: Actor, negotiation_id: str, message: str = "") -> Negotiation:
    """Either party ends an open or agreed negotiation."""
    row = get_negotiation(session, actor, negotiation_id)
    party = _party(actor, row)
    if row.state in CLOSED:
        raise NegotiationClosed(f"Negotiation{row.state.capitalize()}", f"negotiation {row.id} is {row.state}")
    row.reason = f"terminated by the {party}" + (f": {message}" if message else "")
    _transition(session, row, actor.id, S.TERMINATED, None, reason=row.reason)
    if row.agreed_offer_id:
        session.exec(select(Offer).where(Offer.id == row.agreed_offer_id)).one().active = False
    return row


def check_agreement(session: Session, offer: Offer, quantity: int) -> None:
    """A private offer from a negotiation is bought once, in the agreed quantity, while agreed."""
    row = session.exec(select(Negotiation).where(Negotiation.id == offer.negotiation_id)).one()
    if row.state != S.AGREED:
        raise Conflict(f"negotiation {row.id} is {row.state}; its offer can no longer be bought")
    if quantity != row.quantity:
        raise InvalidInput("quantity", f"the agreement is for quantity {row.quantity}")


def finalize_for_license(session: Session, negotiation_id: str, buyer_id: str, license_id: str) -> None:
    """agreed -> finalized once the chain has the payment for the license."""
    row = session.exec(select(Negotiation).where(Negotiation.id == negotiation_id)).one()
    if row.state == S.AGREED:
        row.license_id = license_id
        _transition(session, row, buyer_id, S.FINALIZED, None, license_id=license_id)


def list_negotiations(session: Session, actor: Actor) -> list[Negotiation]:
    stmt = own_rows(select(Negotiation).order_by(col(Negotiation.pk)), actor, Negotiation.buyer_id,
                    Negotiation.operator_id)
    return list(session.exec(stmt).all())


def negotiation_view(session: Session, row: Negotiation) -> NegotiationOut:
    events = session.exec(select(NegotiationEvent).where(NegotiationEvent.negotiation_id == row.id)
                          .order_by(col(NegotiationEvent.pk))).all()
    return NegotiationOut(
        id=row.id, product_id=row.product_id, base_offer_id=row.base_offer_id, buyer_id=row.buyer_id,
        operator_id=row.operator_id, state=row.state, turn=row.turn, kind=row.kind, quantity=row.quantity,
        term_days=row.term_days, unit_price_fen=row.unit_price_fen, terms=row.terms, deadline=row.deadline,
        agreed_offer_id=row.agreed_offer_id, license_id=row.license_id, reason=row.reason,
        events=[NegotiationEventOut(actor_id=e.actor_id, from_state=e.from_state, to_state=e.to_state, data=e.data,
                                    created_at=e.created_at) for e in events])


Step = Callable[..., Negotiation]
