"""Budget figures with their history, for gauges: the product-wide budget (all buyers together) and, for a
buyer, its own budget on the product across its licenses; each with its charges over time (license charges,
refunded ones left out). Both are lifetime budgets: they never refresh."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from registry.actor import Actor
from registry.models import Role
from registry.products import visible_product
from registry.trading.budget_schemas import BudgetTrack, BudgetUsageOut, SpendPoint
from registry.trading.licenses import budget_caps
from registry.trading.models import BuyerBudget, LicenseCharge
from registry.trading.product_budget import total_view
from registry.trading.units import EPS_UNIT

MAX_POINTS = 500  # the latest charges drawn; what came before is one number


def _track(session: Session, stmt: Any, cap: float | None, spent: float) -> BudgetTrack:
    C = LicenseCharge
    rows = list(session.exec(stmt.where(col(C.refunded) == False)  # noqa: E712
                             .order_by(col(C.pk).desc()).limit(MAX_POINTS)).all())[::-1]
    points = [SpendPoint(at=at, epsilon=eps / EPS_UNIT) for at, eps in rows]
    before = max(0.0, spent - sum(p.epsilon for p in points))
    return BudgetTrack(epsilon_cap=cap, epsilon_spent=spent, epsilon_left=None if cap is None else cap - spent,
                       epsilon_before=round(before, 9), history=points)


def budget_usage(session: Session, actor: Actor, ref: str) -> BudgetUsageOut:
    product = visible_product(session, actor, ref)
    C = LicenseCharge
    charges = select(C.created_at, C.eps).where(C.product_id == product.id)
    total = total_view(session, product.id)
    mine = None
    if actor.role == Role.BUYER:
        eps_cap, _, _ = budget_caps(session, product.id)
        row = session.get(BuyerBudget, (product.id, actor.id))
        if row is not None:
            session.refresh(row)
        spent = 0.0 if row is None else row.eps_spent / EPS_UNIT
        mine = _track(session, charges.where(C.buyer_id == actor.id), eps_cap / EPS_UNIT, spent)
    return BudgetUsageOut(product_id=product.id, mine=mine,
                          product_total=_track(session, charges, total.epsilon_cap, total.epsilon_spent))
