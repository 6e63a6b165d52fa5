"""The product-wide privacy budget: what all buyers together may spend on one product (issue: a per-buyer cap
alone lets many accounts add up to any leakage). The operator of the product or the authority sets the cap; every
query's charge is taken off it by one conditional UPDATE beside the license's and the buyer's, and given back with
them when the query fails. Without a cap the spend is still counted."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from ledger.records import append_record
from registry.actor import Actor
from registry.models import Product, Role
from registry.products import get_product
from registry.trading.budget_schemas import TotalBudgetOut
from registry.trading.errors import UsageRefused
from registry.trading.models import ProductBudget
from registry.trading.offers import require_operator_of
from registry.trading.units import DELTA_UNIT, EPS_UNIT, delta_units, eps_units


def _ensure(session: Session, product_id: str) -> None:
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(insert(ProductBudget).values(product_id=product_id, eps_spent=0, delta_spent=0, rho_spent=0)
                    .on_conflict_do_nothing())


def set_total_budget(session: Session, actor: Actor, ref: str, epsilon: float, delta: float) -> ProductBudget:
    """The product's operator, or the authority, caps what all buyers together may spend (below what is spent
    already, every further query is refused)."""
    actor.require(Role.OPERATOR, Role.AUTHORITY)
    product = get_product(session, ref)
    if actor.role == Role.OPERATOR:
        require_operator_of(actor, product)
    _ensure(session, product.id)
    row = session.get(ProductBudget, product.id)
    assert row is not None
    session.refresh(row)
    row.eps_cap, row.delta_cap = eps_units(epsilon), delta_units(delta)
    session.add(row)
    append_record(session, kind="total_budget.set", actor=actor.id, subject=product.id,
                  data={"epsilon": epsilon, "delta": delta})
    return row


def spend_total(session: Session, product: Product, units: tuple[int, int, int],
                requested: tuple[float, float]) -> None:
    """Take the charge off the product's total if it fits; else UsageRefused naming what is left (the caller
    gives back what it took elsewhere)."""
    e, d, r = units
    _ensure(session, product.id)
    P = ProductBudget
    fits = session.execute(
        sa.update(P).where(col(P.product_id) == product.id)
        .where(sa.or_(col(P.eps_cap).is_(None), col(P.eps_spent) + e <= col(P.eps_cap)))
        .where(sa.or_(col(P.delta_cap).is_(None), col(P.delta_spent) + d <= col(P.delta_cap)))
        .values(eps_spent=col(P.eps_spent) + e, delta_spent=col(P.delta_spent) + d, rho_spent=col(P.rho_spent) + r)
        .execution_options(synchronize_session=False))
    if fits.rowcount == 1:  # type: ignore[attr-defined]
        return
    eps_left, delta_left = total_left(session, product.id)
    raise UsageRefused("PrivacyBudgetExhausted", scope="product_total", product=product.code,
                       epsilonRequested=requested[0], epsilonLeft=eps_left, deltaRequested=requested[1],
                       deltaLeft=delta_left)


def give_back_total(session: Session, product_id: str, e: int, d: int, r: int) -> None:
    P = ProductBudget
    session.execute(sa.update(P).where(col(P.product_id) == product_id)
                    .values(eps_spent=col(P.eps_spent) - e, delta_spent=col(P.delta_spent) - d,
                            rho_spent=col(P.rho_spent) - r).execution_options(synchronize_session=False))


def _current(session: Session, product_id: str) -> ProductBudget | None:
    row = session.get(ProductBudget, product_id)
    if row is not None:
        session.refresh(row)  # the UPDATEs bypass the session's copy
    return row


def _left(row: ProductBudget | None) -> tuple[float | None, float | None]:
    if row is None:
        return None, None
    eps = None if row.eps_cap is None else (row.eps_cap - row.eps_spent) / EPS_UNIT
    delta = None if row.delta_cap is None else (row.delta_cap - row.delta_spent) / DELTA_UNIT
    return eps, delta


def total_left(session: Session, product_id: str) -> tuple[float | None, float | None]:
    """(epsilon, delta) all buyers together have left on the product (None: no cap)."""
    return _left(_current(session, product_id))


def total_view(session: Session, product_id: str) -> TotalBudgetOut:
    row = _current(session, product_id)
    left_e, left_d = _left(row)
    return TotalBudgetOut(product_id=product_id,
                          epsilon_cap=None if row is None or row.eps_cap is None else row.eps_cap / EPS_UNIT,
                          delta_cap=None if row is None or row.delta_cap is None else row.delta_cap / DELTA_UNIT,
                          epsilon_spent=0.0 if row is None else row.eps_spent / EPS_UNIT,
                          delta_spent=0.0 if row is None else row.delta_spent / DELTA_UNIT,
                          epsilon_left=left_e, delta_left=left_d)
