"""The public charge schedule (收费标准公示): every listed product's current public prices and its price cap,
readable without an account, as JSON or CSV.

Only what any buyer may buy is shown: active public offers (a negotiated offer is one buyer's business). The
figures are the exchange's copy of what the chain enforces (`Settlement.priceCap`, the cap binding each offer's
charge form now as `Settlement.capOf` computes it, the offers' tiers); the use
rule is stated once: public-governance and public-welfare use by accounts the authority names is free.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from sqlmodel import Session, col, select

from registry.models import Account, Product, ProductStatus
from registry.trading.caps import cap_at, now
from registry.trading.models import Offer, OfferKind, PriceCap
from registry.trading.schemas import ChargeScheduleOut, ScheduleOffer, ScheduleProduct

PUBLIC_WELFARE_RULE = ("公共治理、公益事业用途免费（由数据主管部门认定的单位）; public-governance and "
                       "public-welfare use is free of charge for accounts the authority names; industrial and "
                       "commercial use pays the prices below, never above the cap")
MAX_PAGE = 500


def charge_schedule(session: Session, limit: int = 100, cursor: int = 0, sector: str | None = None
                    ) -> ChargeScheduleOut:
    """One page of listed products (in registration order, after `cursor`) with their public offers and cap."""
    stmt = (select(Product, Account.name).join(Account, col(Account.id) == Product.operator_id)
            .where(Product.status == ProductStatus.LISTED).where(col(Product.pk) > cursor)
            .order_by(col(Product.pk)).limit(min(limit, MAX_PAGE) + 1))
    if sector:
        stmt = stmt.where(Product.sector == sector)
    rows = list(session.exec(stmt).all())
    more, rows = len(rows) > min(limit, MAX_PAGE), rows[:min(limit, MAX_PAGE)]
    ids = [p.id for p, _ in rows]
    caps = {c.product_id: c.cap_fen for c in session.exec(select(PriceCap).where(col(PriceCap.product_id).in_(ids)))
            if c.cap_fen > 0}
    offers: dict[str, list[ScheduleOffer]] = defaultdict(list)
    stmt_o = (select(Offer).where(col(Offer.product_id).in_(ids)).where(col(Offer.active))
              .where(col(Offer.buyer_id).is_(None)).where(Offer.kind != OfferKind.NEGOTIABLE).order_by(col(Offer.pk)))
    t = now()
    for o in session.exec(stmt_o):
        offers[o.product_id].append(ScheduleOffer(
            offer_id=o.id, kind=o.kind, basis=o.basis, term_days=o.term_days,
            tiers=[{"min_quantity": q, "unit_price_fen": u} for q, u in o.tiers],
            cap_fen=cap_at(session, o.product_id, o.kind, t)))
    products = [ScheduleProduct(code=p.code, title=p.title, operator=name, sector=p.sector,
                                price_cap_fen=caps.get(p.id), offers=offers.get(p.id, [])) for p, name in rows]
    return ChargeScheduleOut(rule=PUBLIC_WELFARE_RULE, products=products,
                             next_cursor=str(rows[-1][0].pk) if more and rows else None)


CSV_COLUMNS = ("code", "title", "operator", "sector", "price_cap_fen", "offer_id", "kind", "basis", "term_days",
               "min_quantity", "unit_price_fen")


def schedule_csv(page: ChargeScheduleOut) -> str:
    """One line per product and price tier (a product with no public offer: one line, price columns empty)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for p in page.products:
        head = [p.code, p.title, p.operator, p.sector, "" if p.price_cap_fen is None else p.price_cap_fen]
        if not p.offers:
            w.writerow([*head, "", "", "", "", "", ""])
        for o in p.offers:
            for t in o.tiers:
                w.writerow([*head, o.offer_id, o.kind, o.basis, o.term_days or "", t["min_quantity"],
                            t["unit_price_fen"]])
    return out.getvalue()
