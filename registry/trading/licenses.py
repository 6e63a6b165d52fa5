"""Licenses (usage policy) and their atomic spending, for the query service.

A license binds buyer, product, offer and terms (purpose, query kinds, columns, number of queries,
privacy budget, validity window, no resale); the SHA-256 of its canonical terms is on chain.

A license may carry a budget window (`registry.trading.windows`): its query count and privacy budget then
refresh every calendar day, week or month (UTC); what counts is the spend in the current window. The buyer-wide
and product-wide caps never refresh.

Privacy budgets are stored as integers (epsilon and rho in 1e-9 units, delta in 1e-15 units) so that
the conditional updates below are exact on every database. The query service calls:

    grant = authorize_and_spend(session, actor, license_id, kinds=..., columns=..., epsilon=..., delta=...)
                                 # at=: the time of the query (default: `windows.utc_now()`, the wall clock)
    session.commit()                     # the spend is durable before the query runs
    ... run the query ...
    on failure: refund_spend(session, grant); session.commit()
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from ledger.records import append_record
from registry.access import require_servable
from registry.actor import Actor
from registry.errors import Forbidden, InvalidInput, found
from registry.models import Product, Role
from registry.products import get_product
from registry.signing import new_id
from registry.trading.errors import UsageRefused
from registry.trading.models import (
    BudgetPolicy,
    BuyerBudget,
    License,
    LicenseCharge,
    LicenseStatus,
    Offer,
    OfferKind,
    Use,
)
from registry.trading.offers import require_operator_of
from registry.trading.product_budget import give_back_total, spend_total
from registry.trading.units import DELTA_UNIT, EPS_UNIT, delta_units, eps_units
from registry.trading.windows import aware, utc_now, window_start, window_use

# What one buyer may spend on one product across all its licenses unless the operator sets a policy.
DEFAULT_PRODUCT_EPSILON = 10.0
DEFAULT_PRODUCT_DELTA = 1e-4


@dataclass(frozen=True)
class LicenseGrant:
    """One authorized query: what was spent, and what is left on the license after it."""

    license_id: str
    charge_id: str
    product_id: str
    buyer_id: str
    kinds: tuple[str, ...]
    epsilon: float
    delta: float
    rho: float | None
    unit_price_fen: int
    queries_left: int
    epsilon_left: float
    delta_left: float
    terms_hash: str


# --------------------------------------------------------------------- terms

def build_terms(offer: Offer, *, license_id: str, buyer_id: str, buyer_address: str, quantity: int,
                purpose: str, use: str, start: datetime) -> dict[str, Any]:
    """The license terms whose canonical hash goes on chain. Subscriptions scale per period; a metered
    license allows exactly the queries bought. `use` is the declared use category (public welfare: free).
    With a `budget_window` the budget and query count are per window (a subscription's periods add validity)."""
    t = offer.terms
    window = t.get("budget_window")
    periods = quantity if offer.kind == OfferKind.SUBSCRIPTION and not window else 1
    days = (offer.term_days or 0) * quantity if offer.kind == OfferKind.SUBSCRIPTION else t["validity_days"]
    max_queries = quantity if offer.kind == OfferKind.METERED else t["max_queries"] * periods
    return {
        "license_id": license_id, "buyer_id": buyer_id, "buyer": buyer_address, "product_id": offer.product_id,
        "offer_id": offer.id, "kind": offer.kind, "quantity": quantity, "purpose": purpose, "use": use,
        "query_kinds": sorted(t["query_kinds"]), "columns": sorted(t["columns"]), "max_queries": max_queries,
        "epsilon": t["epsilon"] * periods, "delta": t["delta"] * periods,
        "rho": t["rho"] * periods if t.get("rho") else None,
        "valid_from": start.isoformat(timespec="seconds"),
        "valid_until": (start + timedelta(days=days)).isoformat(timespec="seconds"), "no_resale": True,
        **({"budget_window": window} if window else {}),
    }


def create_license(session: Session, *, order_id: str, license_id: str, offer: Offer, terms: dict[str, Any],
                   terms_hash: str, unit_price_fen: int, amount_fen: int, voucher_fen: int, status: LicenseStatus,
                   release_after: int, payouts: list[dict[str, Any]]) -> License:
    """The license row (only once the chain has the payment) and the buyer's budget row."""
    row = License(
        id=license_id, order_id=order_id, buyer_id=terms["buyer_id"], product_id=offer.product_id,
        offer_id=offer.id, kind=offer.kind, quantity=terms["quantity"], unit_price_fen=unit_price_fen,
        amount_fen=amount_fen, voucher_fen=voucher_fen, terms=terms, terms_hash=terms_hash,
        query_kinds=terms["query_kinds"], columns=terms["columns"], max_queries=terms["max_queries"],
        eps_budget=eps_units(terms["epsilon"]), delta_budget=delta_units(terms["delta"]),
        rho_budget=eps_units(terms["rho"]) if terms.get("rho") else None,
        valid_from=datetime.fromisoformat(terms["valid_from"]),
        valid_until=datetime.fromisoformat(terms["valid_until"]), release_after=release_after,
        budget_window=terms.get("budget_window"),
        window_start=window_start(terms["budget_window"], datetime.fromisoformat(terms["valid_from"]))
        if terms.get("budget_window") else None,
        status=status, payouts=payouts, use=terms.get("use", Use.COMMERCIAL))
    session.add(row)
    ensure_buyer_budget(session, offer.product_id, terms["buyer_id"])
    return row


def ensure_buyer_budget(session: Session, product_id: str, buyer_id: str) -> None:
    """Create the (product, buyer) budget row if missing; concurrent creators do not conflict."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(insert(BuyerBudget).values(product_id=product_id, buyer_id=buyer_id, eps_spent=0,
                                               delta_spent=0, rho_spent=0).on_conflict_do_nothing())


def budget_caps(session: Session, product_id: str) -> tuple[int, int, int | None]:
    policy = session.get(BudgetPolicy, product_id)
    if policy is None:
        return eps_units(DEFAULT_PRODUCT_EPSILON), delta_units(DEFAULT_PRODUCT_DELTA), None
    return policy.eps_cap, policy.delta_cap, policy.rho_cap


def set_budget_policy(session: Session, actor: Actor, ref: str, epsilon: float, delta: float,
                      rho: float | None) -> BudgetPolicy:
    """The operator bounds what one buyer may spend on its product across all licenses."""
    actor.require(Role.OPERATOR)
    product = get_product(session, ref)
    require_operator_of(actor, product)
    row = session.get(BudgetPolicy, product.id) or BudgetPolicy(product_id=product.id)
    row.eps_cap, row.delta_cap = eps_units(epsilon), delta_units(delta)
    row.rho_cap = eps_units(rho) if rho else None
    row.updated_at = datetime.now(UTC)
    session.add(row)
    append_record(session, kind="budget_policy.set", actor=actor.id, subject=product.id,
                  data={"epsilon": epsilon, "delta": delta, "rho": rho})
    return row


# ------------------------------------------------------------ spend & refund

def get_license(session: Session, license_id: str) -> License:
    return found(session.exec(select(License).where(License.id == license_id)).first(), f"license {license_id}")


def buyers_license(session: Session, actor: Actor, license_id: str) -> License:
    """The actor's own license (what only its buyer may do: query it, confirm destruction)."""
    row = get_license(session, license_id)
    if row.buyer_id != actor.id:
        raise Forbidden(f"license {license_id} belongs to another buyer")
    return row


def authorize_and_spend(session: Session, actor: Actor, license_ref: str, *, kinds: set[str], columns: set[str],
                        epsilon: float, delta: float, rho: float | None = None,
                        at: datetime | None = None) -> LicenseGrant:
    """Check the license for one query and spend one query plus its privacy budget, atomically.

    Checks: the buyer owns it, it is not refunded, now is inside its validity window, the product is
    servable, every kind and column is licensed; then one conditional UPDATE on the license (queries and
    budget) and one on the (product, buyer) budget across licenses, each checking its rowcount, so
    concurrent queries can never overspend. Appends a `query.charge` ledger record and a charge row.
    Refusals raise `UsageRefused` (409) naming the rule and what is left; nothing stays written.
    The caller commits (before running the query) and calls `refund_spend` if the query fails.
    """
    at = aware(at) if at else utc_now()
    lic = spend(session, actor, license_ref, kinds=kinds, columns=columns, epsilon=epsilon, delta=delta, rho=rho,
                at=at)
    unit = lic.unit_price_fen if lic.kind == OfferKind.METERED else 0
    used = window_use(lic, at)
    charge = LicenseCharge(id=new_id(session), license_id=lic.id, buyer_id=lic.buyer_id, product_id=lic.product_id,
                           unit_price_fen=unit, eps=eps_units(epsilon), delta=delta_units(delta),
                           rho=eps_units(rho) if rho else 0, kinds=sorted(kinds), window_start=used.start)
    session.add(charge)
    window = {"window_start": used.start.isoformat()} if used.start else {}
    append_record(session, kind="query.charge", actor=actor.id, subject=lic.product_id,
                  data={"license_id": lic.id, "charge_id": charge.id, "query_no": lic.queries_used,
                        "unit_price_fen": unit, "epsilon": epsilon, "delta": delta, "rho": rho,
                        "kinds": sorted(kinds), "columns": sorted(columns), **window})
    return LicenseGrant(license_id=lic.id, charge_id=charge.id, product_id=lic.product_id, buyer_id=lic.buyer_id,
                        kinds=tuple(sorted(kinds)), epsilon=epsilon, delta=delta, rho=rho, unit_price_fen=unit,
                        queries_left=lic.max_queries - used.queries,
                        epsilon_left=(lic.eps_budget - used.eps) / EPS_UNIT,
                        delta_left=(lic.delta_budget - used.delta) / DELTA_UNIT, terms_hash=lic.terms_hash)


def spend(session: Session, actor: Actor, license_ref: str, *, kinds: set[str], columns: set[str], epsilon: float,
          delta: float, rho: float | None, at: datetime) -> License:
    """The checks and the three conditional UPDATEs of `authorize_and_spend`, nothing else; the license as it is
    after them. `queries.preview` runs it and rolls back: a preview charges exactly what the query would."""
    _check_amounts(epsilon, delta, rho)
    lic = buyers_license(session, actor, license_ref)
    product = _check_usage(session, lic, kinds, columns, at)
    e, d, r = eps_units(epsilon), delta_units(delta), eps_units(rho) if rho else 0
    _spend_license(session, lic, (e, d, r), at)
    _spend_across_licenses(session, lic, product, (e, d, r), (epsilon, delta))
    try:
        spend_total(session, product, (e, d, r), (epsilon, delta))
    except UsageRefused:
        _unspend_license(session, lic, (e, d, r), None)
        _unspend_buyer(session, lic.product_id, lic.buyer_id, e, d, r)
        raise
    session.refresh(lic)
    return lic


def product_budget_left(session: Session, lic: License) -> tuple[float, float]:
    """(epsilon, delta) the buyer has left on the license's product across all its licenses."""
    eps_cap, delta_cap, _ = budget_caps(session, lic.product_id)
    budget = session.get(BuyerBudget, (lic.product_id, lic.buyer_id))
    eps_spent, delta_spent = 0, 0
    if budget is not None:
        session.refresh(budget)  # the UPDATEs bypass the session's copy
        eps_spent, delta_spent = budget.eps_spent, budget.delta_spent
    return (eps_cap - eps_spent) / EPS_UNIT, (delta_cap - delta_spent) / DELTA_UNIT


def _check_amounts(epsilon: float, delta: float, rho: float | None) -> None:
    if not (math.isfinite(epsilon) and epsilon >= 0):  # 0: an exact query on a product without personal data
        raise InvalidInput("epsilon", "must be a non-negative finite number")
    if not (math.isfinite(delta) and 0 <= delta < 1):
        raise InvalidInput("delta", "must be in [0, 1)")
    if rho is not None and not (math.isfinite(rho) and rho >= 0):
        raise InvalidInput("rho", "must be a finite number >= 0")


def _check_usage(session: Session, lic: License, kinds: set[str], columns: set[str], at: datetime) -> Product:
    """Not refunded, valid at `at`, product servable, kinds and columns licensed; returns the product."""
    if lic.status == LicenseStatus.REFUNDED:
        raise UsageRefused("LicenseRefunded", license=lic.id)
    if at < aware(lic.valid_from):
        raise UsageRefused("LicenseNotYetValid", license=lic.id, validFrom=lic.valid_from.isoformat())
    if at >= aware(lic.valid_until):
        raise UsageRefused("LicenseExpired", license=lic.id, validUntil=lic.valid_until.isoformat())
    product = session.exec(select(Product).where(Product.id == lic.product_id)).one()
    require_servable(session, product)
    bad_kinds = sorted(set(kinds) - set(lic.query_kinds))
    if bad_kinds:
        raise UsageRefused("QueryKindNotAllowed", kinds=",".join(bad_kinds), allowed=",".join(lic.query_kinds))
    bad_cols = sorted(set(columns) - set(lic.columns))
    if bad_cols:
        raise UsageRefused("ColumnNotAllowed", columns=",".join(bad_cols), allowed=",".join(lic.columns))
    return product


def _window_bases(lic: License, at: datetime) -> dict[str, Any]:
    """SQL for the license's window bases (and window start) as of `at`: unchanged while its current window is
    `at`'s, else the lifetime counters (the new window starts fresh). A metered license's prepaid query count
    never refreshes."""
    L = License
    bases = {"win_queries": col(L.win_queries), "win_eps": col(L.win_eps), "win_delta": col(L.win_delta),
             "win_rho": col(L.win_rho)}
    if lic.budget_window is None:
        return bases
    cur = sa.literal(window_start(lic.budget_window, at), UTCDateTime())
    same = col(L.window_start) >= cur
    rolled = {"win_eps": col(L.eps_spent), "win_delta": col(L.delta_spent), "win_rho": col(L.rho_spent)}
    if lic.kind != OfferKind.METERED:
        rolled["win_queries"] = col(L.queries_used)
    out: dict[str, Any] = {k: sa.case((same, v), else_=rolled[k]) if k in rolled else v for k, v in bases.items()}
    out["window_start"] = sa.case((same, col(L.window_start)), else_=cur)
    return out


def _spend_license(session: Session, lic: License, units: tuple[int, int, int], at: datetime) -> None:
    """One query and its budget off the license's current window, if they fit (one conditional UPDATE that also
    moves the window on when `at` is in a later one); else the refusal."""
    L = License
    e, d, r = units
    b = _window_bases(lic, at)
    spent = session.execute(
        sa.update(L).where(col(L.id) == lic.id).where(col(L.status) != LicenseStatus.REFUNDED)
        .where(col(L.queries_used) - b["win_queries"] + 1 <= col(L.max_queries))
        .where(col(L.eps_spent) - b["win_eps"] + e <= col(L.eps_budget))
        .where(col(L.delta_spent) - b["win_delta"] + d <= col(L.delta_budget))
        .where(sa.or_(col(L.rho_budget).is_(None), col(L.rho_spent) - b["win_rho"] + r <= col(L.rho_budget)))
        .values(queries_used=col(L.queries_used) + 1, eps_spent=col(L.eps_spent) + e,
                delta_spent=col(L.delta_spent) + d, rho_spent=col(L.rho_spent) + r, **b)
        .execution_options(synchronize_session=False))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(lic)
        _explain_license_refusal(session, lic, e, d, at)


def _spend_across_licenses(session: Session, lic: License, product: Product, units: tuple[int, int, int],
                           requested: tuple[float, float]) -> None:
    """The budget (`units`: epsilon, delta, rho) off the (product, buyer) cap across licenses, if it fits;
    else the license's spend is given back and the refusal names what was `requested` and what is left."""
    e, d, r = units
    eps_cap, delta_cap, rho_cap = budget_caps(session, lic.product_id)
    B = BuyerBudget
    ensure_buyer_budget(session, lic.product_id, lic.buyer_id)
    across = session.execute(
        sa.update(B).where(col(B.product_id) == lic.product_id).where(col(B.buyer_id) == lic.buyer_id)
        .where(col(B.eps_spent) + e <= eps_cap).where(col(B.delta_spent) + d <= delta_cap)
        .where(sa.true() if rho_cap is None else col(B.rho_spent) + r <= rho_cap)
        .values(eps_spent=col(B.eps_spent) + e, delta_spent=col(B.delta_spent) + d, rho_spent=col(B.rho_spent) + r)
        .execution_options(synchronize_session=False))
    if across.rowcount == 1:  # type: ignore[attr-defined]
        return
    _unspend_license(session, lic, units, None)
    budget = session.get(B, (lic.product_id, lic.buyer_id))
    assert budget is not None
    session.refresh(budget)
    raise UsageRefused("PrivacyBudgetExhausted", scope="product", product=product.code,
                       epsilonRequested=requested[0], epsilonLeft=(eps_cap - budget.eps_spent) / EPS_UNIT,
                       deltaRequested=requested[1], deltaLeft=(delta_cap - budget.delta_spent) / DELTA_UNIT)


def _explain_license_refusal(session: Session, lic: License, e: int, d: int, at: datetime) -> None:
    session.refresh(lic)
    if lic.status == LicenseStatus.REFUNDED:
        raise UsageRefused("LicenseRefunded", license=lic.id)
    used = window_use(lic, at)
    window = {"window": lic.budget_window} if lic.budget_window else {}
    if used.queries + 1 > lic.max_queries:
        raise UsageRefused("QueryQuotaExhausted", license=lic.id, maxQueries=lic.max_queries,
                           used=used.queries, left=0, **window)
    raise UsageRefused("PrivacyBudgetExhausted", scope="license", license=lic.id,
                       epsilonRequested=e / EPS_UNIT, epsilonLeft=(lic.eps_budget - used.eps) / EPS_UNIT,
                       deltaRequested=d / DELTA_UNIT, deltaLeft=(lic.delta_budget - used.delta) / DELTA_UNIT, **window)


def _unspend_buyer(session: Session, product_id: str, buyer_id: str, e: int, d: int, r: int) -> None:
    B = BuyerBudget
    session.execute(sa.update(B).where(col(B.product_id) == product_id).where(col(B.buyer_id) == buyer_id)
                    .values(eps_spent=col(B.eps_spent) - e, delta_spent=col(B.delta_spent) - d,
                            rho_spent=col(B.rho_spent) - r).execution_options(synchronize_session=False))


def _unspend_license(session: Session, lic: License, units: tuple[int, int, int], drawn: datetime | None) -> None:
    """Give one query and its budget back. A charge `drawn` in an earlier window than the license's current one
    lowers the window bases too: the current window's spend is unchanged (the old window is over)."""
    L = License
    e, d, r = units
    back: dict[str, Any] = {}
    if drawn is not None:
        earlier = col(L.window_start) > sa.literal(drawn, UTCDateTime())
        back = {k: sa.case((earlier, col(getattr(L, k)) - n), else_=col(getattr(L, k)))
                for k, n in (("win_eps", e), ("win_delta", d), ("win_rho", r))}
        if lic.kind != OfferKind.METERED:
            back["win_queries"] = sa.case((earlier, col(L.win_queries) - 1), else_=col(L.win_queries))
    session.execute(sa.update(L).where(col(L.id) == lic.id)
                    .values(queries_used=col(L.queries_used) - 1, eps_spent=col(L.eps_spent) - e,
                            delta_spent=col(L.delta_spent) - d, rho_spent=col(L.rho_spent) - r, **back)
                    .execution_options(synchronize_session=False))


def refund_spend(session: Session, grant: LicenseGrant) -> bool:
    """Give back a failed query's query and budget (idempotent: a charge is refunded at most once)."""
    C = LicenseCharge
    marked = session.execute(sa.update(C).where(col(C.id) == grant.charge_id).where(col(C.refunded) == False)  # noqa: E712
                             .values(refunded=True).execution_options(synchronize_session=False))
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return False
    charge = session.exec(select(C).where(C.id == grant.charge_id)).one()
    _unspend_license(session, get_license(session, grant.license_id), (charge.eps, charge.delta, charge.rho),
                     charge.window_start)
    _unspend_buyer(session, grant.product_id, grant.buyer_id, charge.eps, charge.delta, charge.rho)
    give_back_total(session, grant.product_id, charge.eps, charge.delta, charge.rho)
    append_record(session, kind="query.charge_refunded", actor=grant.buyer_id, subject=grant.product_id,
                  data={"license_id": grant.license_id, "charge_id": grant.charge_id})
    return True
