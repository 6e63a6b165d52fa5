"""A participant's account in the portal: the statement and balance, and negotiations.

* `/portal/statement`: spending and income by period and product with a chart of each, metered charges,
  vouchers and the on-chain receipts of every purchase (the API's `GET /accounts/me/statement`), and the balance.
* `/portal/negotiations`: the buyer opens a negotiation on a product's negotiable offer, counters, accepts or
  ends it, and buys at the agreed price; the operator offers, agrees (which publishes a private offer on chain)
  or ends it. Every act is a form signed in the browser by the participant's own key (`static/signer.js`),
  then post/redirect/get through `/portal/done`.
Refunds are a signed form on the licenses page (`templates/licenses.html`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import Depends
from fastapi.responses import Response

from api.client import ApiError, Json
from api.portal.charts import series_chart
from api.portal.i18n import translate
from api.portal.web import Page, page, portal_router

router = portal_router()
PERIODS = ("day", "month", "year")
NEGOTIATED_KINDS = ("one_off", "subscription", "metered")


def _titles(p: Page, product_ids: set[str]) -> dict[str, str]:
    """Product id → "code title", for the products a page names (one API read each)."""
    out = {}
    for pid in product_ids:
        try:
            prod = p.client.product(pid)
            out[pid] = f"{prod['code']} {prod['title']}"
        except ApiError:
            out[pid] = pid[:8]
    return out


def _by_period(rows: list[Json], field: str) -> list[tuple[str, float]]:
    """Yuan by period, periods in order."""
    sums: dict[str, int] = defaultdict(int)
    for r in rows:
        sums[r["period"]] += int(r[field])
    return [(k, v / 100) for k, v in sorted(sums.items())]


@router.get("/statement")
def statement(period: str = "month", p: Page = Depends(page("statement"))) -> Response:
    """The account's statement by `period` (day, month or year), with charts of spending and income."""
    period = period if period in PERIODS else "month"
    st = p.client.statement(period)
    spent = [{**r, "paid_fen": r["paid_fen"] - r["refunded_fen"]} for r in st["spending"]]
    charts = [c for c in (series_chart(translate("st_chart_spent", p.lang), _by_period(spent, "paid_fen")),
                          series_chart(translate("st_chart_income", p.lang), _by_period(st["income"], "amount_fen")))
              if c is not None]
    ids = {r["product_id"] for key in ("spending", "income", "metered", "receipts") for r in st[key]}
    try:
        balance: int | None = int(p.client.balance()["balance_fen"])
    except ApiError:
        balance = None
    return p.render("statement.html", st=st, period=period, periods=PERIODS, charts=charts,
                    titles=_titles(p, ids), balance=balance)


def _negotiable(p: Page) -> list[tuple[Json, Json]]:
    """(product, its negotiable offer) for every listed product that has one (the catalog carries public offers)."""
    out = []
    for prod in sorted(p.client.catalog_all(status="listed"), key=lambda x: x["code"]):
        offer = next((o for o in prod.get("offers") or () if o["kind"] == "negotiable"), None)
        if offer is not None:
            out.append((prod, offer))
    return out


@router.get("/negotiations")
def negotiations(product: str = "", p: Page = Depends(page("negotiations"))) -> Response:
    """The account's negotiations with their history and the acts open to it now; for a buyer, the form to open
    one on a product's negotiable offer."""
    items = sorted(p.client.negotiations(), key=lambda n: n["events"][-1]["created_at"] if n["events"] else "",
                   reverse=True)
    negotiable: list[tuple[Json, Json]] = _negotiable(p) if p.me["role"] == "buyer" else []
    chosen = next(((prod, offer) for prod, offer in negotiable if prod["id"] == product or prod["code"] == product),
                  None)
    context: dict[str, Any] = {"items": items, "negotiable": negotiable, "chosen": chosen,
                               "kinds": NEGOTIATED_KINDS, "titles": _titles(p, {n["product_id"] for n in items})}
    return p.render("negotiations.html", **context)
