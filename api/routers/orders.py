"""Purchases: 201 with the license when the chain has the payment, 202 while it is pending (retried)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import AnyCtx, BuyerCtx, Ctx
from registry.limits import MAX_CURSOR
from registry.trading import orders as svc
from registry.trading.license_views import license_view
from registry.trading.models import OrderState
from registry.trading.order_list import list_orders
from registry.trading.schemas import OrderIn, OrderOut

router = APIRouter(prefix="/orders", tags=["trading"])


def _body(c: Ctx, order_id: str) -> tuple[int, dict[str, Any]]:
    row = svc.get_order(c.session, c.actor, order_id)
    lic = svc.license_of(c.session, row)
    body = {"order": svc.order_view(row).model_dump(mode="json"),
            "license": license_view(lic).model_dump(mode="json") if lic else None}
    return (201 if row.state == OrderState.PAID else 202), body


@router.post("", status_code=201, summary="Buy a license (buyer). Send an Idempotency-Key; 202 = pending, retried",
             responses={202: {"description": "the chain is unreachable: the order is pending and will be retried"}})
def place(body: OrderIn, c: BuyerCtx,
          idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200)) -> JSONResponse:
    row = svc.place_order(c.session, c.gateway, c.actor, body, idempotency_key)
    c.commit()
    svc.pay_now(c.session, c.gateway, row)
    if row.state == OrderState.PENDING:
        c.svc.outbox_wakeup.set()
    status, out = _body(c, row.id)
    return JSONResponse(out, status_code=status)


class OrdersPage(BaseModel):
    items: list[OrderOut]
    next_after: int | None  # pass as `after` for the next page; null on the last one


@router.get("", response_model=OrdersPage,
            summary="Orders, oldest first: all for the exchange, authority and auditors; a buyer's own otherwise")
def list_all(c: AnyCtx, state: OrderState | None = None, product_id: str | None = Query(None, max_length=36),
             limit: int = Query(100, ge=1, le=500), after: int = Query(0, ge=0, le=MAX_CURSOR)) -> OrdersPage:
    rows = list_orders(c.session, c.actor, state=state, product_id=product_id, limit=limit, after=after)
    return OrdersPage(items=[o for _, o in rows], next_after=rows[-1][0] if len(rows) == limit else None)


@router.get("/{order_id}", response_model=OrderOut, summary="One order (its buyer; exchange, authority, auditor)")
def get(order_id: str, c: AnyCtx) -> OrderOut:
    return svc.order_view(svc.get_order(c.session, c.actor, order_id))
