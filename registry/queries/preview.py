"""`POST /queries/preview`: what a query (or a batch) would cost, what it leaves and how noisy it would be,
without spending anything or asking any provider.

Each query is prepared exactly as `run.run_query` prepares it (same parse, same calibration), then charged by
the same conditional UPDATEs (`licenses.spend`) inside the request's transaction, which is rolled back: the
prediction is the charge, by construction, and concurrent buyers can never observe it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from privacy.calibrate import component_errors
from registry.actor import Actor
from registry.products import get_product
from registry.queries.policy import effective_threshold, policy_of
from registry.queries.providers import product_endpoints
from registry.queries.run import Prepared, prepare
from registry.queries.schemas import BudgetLeft, ExpectedError, PreviewIn, PreviewItem, PreviewOut, QueryIn
from registry.trading.errors import UsageRefused
from registry.trading.license_views import visible_license
from registry.trading.licenses import product_budget_left, spend
from registry.trading.models import License, OfferKind
from registry.trading.product_budget import total_left
from registry.trading.units import DELTA_UNIT, EPS_UNIT
from registry.trading.windows import utc_now, window_end, window_use


def preview(session: Session, actor: Actor, data: PreviewIn) -> PreviewOut:
    """Price `data.queries` in order under the license, at one instant (so in one budget window); the
    transaction is rolled back whatever happens."""
    at = utc_now()
    try:
        lic = visible_license(session, actor, data.license_id)
        factor = _noise_factor(session, lic.product_id)
        items: list[PreviewItem] = []
        for q in data.batch():
            prep = prepare(session, actor, QueryIn(license_id=data.license_id, sql=q.sql, epsilon=q.epsilon,
                                                   delta=q.delta))
            refused: dict[str, Any] | None = None
            try:
                lic = spend(session, actor, data.license_id, kinds=prep.plan.kinds, columns=prep.columns,
                            epsilon=prep.noise.epsilon, delta=prep.noise.delta, rho=prep.noise.rho or None,
                            at=at)
            except UsageRefused as e:
                refused = {"error": e.code, "detail": e.detail}
            items.append(_item(q.sql, prep, lic, factor, refused))
            if refused is not None:
                break
        eps_left, delta_left = product_budget_left(session, lic)
        total_eps, total_delta = total_left(session, lic.product_id)
        used = window_use(lic, at)
        return PreviewOut(license_id=lic.id, product_id=lic.product_id, queries=items,
                          budget_left=BudgetLeft(epsilon=(lic.eps_budget - used.eps) / EPS_UNIT,
                                                 delta=(lic.delta_budget - used.delta) / DELTA_UNIT,
                                                 queries=lic.max_queries - used.queries),
                          budget_window=lic.budget_window, window_start=used.start,
                          window_refreshes_at=window_end(lic.budget_window, used.start)
                          if lic.budget_window and used.start else None,
                          product_budget_left=BudgetLeft(epsilon=eps_left, delta=delta_left, queries=None),
                          product_total_left=BudgetLeft(epsilon=total_eps, delta=total_delta, queries=None))
    finally:
        session.rollback()


def _noise_factor(session: Session, product_id: str) -> float:
    """How much more noise than calibrated the product's registered providers add when all take part
    (`privacy.result.decode_groups`'s `variance_factor`: survivors / threshold)."""
    product = get_product(session, product_id)
    endpoints, _ = product_endpoints(session, product)
    threshold = effective_threshold(product, policy_of(session, product))
    return max(len(endpoints), threshold) / threshold


def _item(sql: str, prep: Prepared, lic: License, factor: float, refused: dict[str, Any] | None) -> PreviewItem:
    noise = prep.noise
    errors = [ExpectedError(**vars(e)) for e in component_errors(prep.plan, noise, factor)]
    return PreviewItem(sql=sql, kinds=sorted(prep.plan.kinds), noised=noise.enabled, epsilon=noise.epsilon,
                       delta=noise.delta, rho=noise.rho,
                       price_fen=lic.unit_price_fen if lic.kind == OfferKind.METERED else 0,
                       expected_error=errors, refused=refused)
