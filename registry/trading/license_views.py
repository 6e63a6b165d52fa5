"""What a license shows: who may see it, its terms and what is left in its current budget window, its charges."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from registry.access import own_rows, sees
from registry.actor import Actor
from registry.errors import NotFound
from registry.models import Role
from registry.products import get_product
from registry.trading.licenses import get_license
from registry.trading.models import License, LicenseCharge, LicenseStatus, Use
from registry.trading.offers import receipt_of
from registry.trading.schemas import ChargeOut, LicenseOut
from registry.trading.units import DELTA_UNIT, EPS_UNIT
from registry.trading.windows import window_end, window_use


def visible_license(session: Session, actor: Actor, license_id: str) -> License:
    """Overseers, its buyer, its payees (a provider or authority paid by it) and the product's operator
    see a license."""
    row = get_license(session, license_id)
    if sees(actor, row.buyer_id) or any(p.get("account_id") == actor.id for p in row.payouts or []):
        return row
    if actor.role == Role.OPERATOR and get_product(session, row.product_id).operator_id == actor.id:
        return row
    raise NotFound(f"license {license_id} not found")


def list_licenses(session: Session, actor: Actor, use: Use | None = None) -> list[License]:
    """The licenses `actor` may see (overseers: all), optionally of one use category (the authority audits the
    public-welfare ones)."""
    stmt = select(License).order_by(col(License.pk))
    if use is not None:
        stmt = stmt.where(License.use == use)
    return list(session.exec(own_rows(stmt, actor, License.buyer_id)).all())


def list_charges(session: Session, lic: License) -> list[LicenseCharge]:
    return list(session.exec(select(LicenseCharge).where(LicenseCharge.license_id == lic.id)
                             .order_by(col(LicenseCharge.pk))).all())


def license_view(row: License, at: datetime | None = None) -> LicenseOut:
    """The license with its current window's spend and what is left in it (`at`: default the wall clock)."""
    used = window_use(row, at)
    return LicenseOut(
        id=row.id, order_id=row.order_id, buyer_id=row.buyer_id, product_id=row.product_id, offer_id=row.offer_id,
        kind=row.kind, status=row.status, quantity=row.quantity, unit_price_fen=row.unit_price_fen,
        amount_fen=row.amount_fen, voucher_fen=row.voucher_fen, terms=row.terms, terms_hash=row.terms_hash,
        max_queries=row.max_queries, queries_used=row.queries_used, queries_left=row.max_queries - used.queries,
        epsilon_budget=row.eps_budget / EPS_UNIT, delta_budget=row.delta_budget / DELTA_UNIT,
        epsilon_left=(row.eps_budget - used.eps) / EPS_UNIT,
        delta_left=(row.delta_budget - used.delta) / DELTA_UNIT,
        budget_window=row.budget_window, window_start=used.start,
        window_refreshes_at=window_end(row.budget_window, used.start) if row.budget_window and used.start else None,
        window_queries_used=used.queries, window_epsilon_spent=used.eps / EPS_UNIT,
        window_delta_spent=used.delta / DELTA_UNIT, valid_from=row.valid_from, valid_until=row.valid_until,
        refundable_until=row.release_after if row.status == LicenseStatus.ESCROWED else None,
        payouts=row.payouts, use=row.use, chain=receipt_of(row))


def charge_view(row: LicenseCharge) -> ChargeOut:
    return ChargeOut(id=row.id, license_id=row.license_id, product_id=row.product_id, unit_price_fen=row.unit_price_fen,
                     epsilon=row.eps / EPS_UNIT, delta=row.delta / DELTA_UNIT, kinds=row.kinds, refunded=row.refunded,
                     window_start=row.window_start, created_at=row.created_at)
