"""Listing orders: every order for the overseers (exchange, authority, auditors), a buyer's own for anyone else;
oldest first, paged by the order's position (`after`)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from registry.access import own_rows
from registry.actor import Actor
from registry.trading.models import Order, OrderState
from registry.trading.orders import order_view
from registry.trading.schemas import OrderOut


def list_orders(session: Session, actor: Actor, *, state: OrderState | None = None, product_id: str | None = None,
                limit: int = 100, after: int = 0) -> list[tuple[int, OrderOut]]:
    """(position, order) pairs the actor may see, in the order they were placed."""
    stmt = select(Order).where(col(Order.pk) > after).order_by(col(Order.pk)).limit(limit)
    if state is not None:
        stmt = stmt.where(Order.state == state)
    if product_id:
        stmt = stmt.where(Order.product_id == product_id)
    return [(int(row.pk or 0), order_view(row)) for row in session.exec(own_rows(stmt, actor, Order.buyer_id)).all()]
