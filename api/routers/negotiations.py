"""Contract negotiation: requested -> offered -> accepted -> agreed -> finalized, or terminated."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from api.deps import AnyCtx, BuyerCtx, Ctx, NegotiatorCtx, OperatorCtx
from registry.trading import negotiations as svc
from registry.trading.models import Negotiation
from registry.trading.schemas import CounterIn, NegotiationIn, NegotiationOut, NoteIn

router = APIRouter(prefix="/negotiations", tags=["trading"])


def _step(c: Ctx, fn: Callable[[], Negotiation]) -> NegotiationOut:
    """Run one step; an expiry found on the way is itself a transition, so it is kept before the 409."""
    try:
        row = fn()
    except svc.NegotiationExpired:
        c.commit()
        raise
    c.commit()
    return svc.negotiation_view(c.session, row)


@router.post("", status_code=201, response_model=NegotiationOut, summary="Request terms on an offer (buyer)")
def open_(body: NegotiationIn, c: BuyerCtx) -> NegotiationOut:
    return _step(c, lambda: svc.open_negotiation(c.session, c.actor, body))


@router.get("", response_model=list[NegotiationOut], summary="My negotiations")
def list_(c: AnyCtx) -> list[NegotiationOut]:
    return [svc.negotiation_view(c.session, n) for n in svc.list_negotiations(c.session, c.actor)]


@router.get("/{negotiation_id}", response_model=NegotiationOut, summary="One negotiation with its transitions")
def get(negotiation_id: str, c: AnyCtx) -> NegotiationOut:
    return svc.negotiation_view(c.session, svc.get_negotiation(c.session, c.actor, negotiation_id))


@router.post("/{negotiation_id}/offer", response_model=NegotiationOut, summary="requested -> offered (operator)")
def offer(negotiation_id: str, body: CounterIn, c: OperatorCtx) -> NegotiationOut:
    return _step(c, lambda: svc.make_offer(c.session, c.actor, negotiation_id, body))


@router.post("/{negotiation_id}/request", response_model=NegotiationOut,
             summary="offered -> requested: counter-proposal (buyer)")
def request(negotiation_id: str, body: CounterIn, c: BuyerCtx) -> NegotiationOut:
    return _step(c, lambda: svc.counter_request(c.session, c.actor, negotiation_id, body))


@router.post("/{negotiation_id}/accept", response_model=NegotiationOut, summary="offered -> accepted (buyer)")
def accept(negotiation_id: str, c: BuyerCtx) -> NegotiationOut:
    return _step(c, lambda: svc.accept(c.session, c.actor, negotiation_id))


@router.post("/{negotiation_id}/agree", response_model=NegotiationOut,
             summary="accepted -> agreed: publishes a private offer for the buyer on chain (operator)")
def agree(negotiation_id: str, c: OperatorCtx) -> NegotiationOut:
    return _step(c, lambda: svc.agree(c.session, c.gateway, c.actor, negotiation_id))


@router.post("/{negotiation_id}/terminate", response_model=NegotiationOut, summary="Either party ends it")
def terminate(negotiation_id: str, body: NoteIn, c: NegotiatorCtx) -> NegotiationOut:
    return _step(c, lambda: svc.terminate(c.session, c.actor, negotiation_id, body.message))
