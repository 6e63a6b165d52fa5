"""The cost and revenue ledger of a product (数据资产入表), folded from its records: the one place its rules are.

- A declared cost counts from its `cost.declared` record unless a later record corrects it (`data.corrects`):
  then the correction counts instead (amount 0 withdraws the entry). Nothing is edited; both records stay.
- A cost belongs to the month of its `incurred_on` date; a settlement to the month of its record, both in China
  Standard Time (`registry.reports.period`).
- Revenue and refunds are those of the maximum allowed revenue (`registry.reports.revenue.settled_fen`): the
  `amount_fen` of each `license.purchase` (the voucher part included), less `buyer_fen + voucher_fen` of each
  `license.refund`; net revenue = revenue - refunds.
- A public-welfare license (`use` = `public_welfare`) is 0 revenue; its list price forgone is its offer's tier
  unit price (`offer.publish` tiers) times its quantity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from registry.assets.categories import CATEGORIES
from registry.reports.period import CST
from registry.reports.revenue import settled_fen
from registry.trading.tiers import tier_unit_price

COST_KIND = "cost.declared"
LEDGER_KINDS = (COST_KIND, "license.purchase", "license.refund", "offer.publish")
PUBLIC_WELFARE = "public_welfare"
Rec = dict[str, Any]


def effective_costs(records: Iterable[Rec]) -> list[Rec]:
    """The `cost.declared` records that count (no later record corrects them), in sequence order."""
    costs = [r for r in records if r["kind"] == COST_KIND]
    corrected = {r["data"].get("corrects") for r in costs}
    return [r for r in costs if r["data"]["cost_id"] not in corrected]


def offer_tiers(records: Iterable[Rec]) -> dict[str, list[list[int]]]:
    """Offer id -> its tiers, from `offer.publish` records."""
    return {r["data"]["offer_id"]: r["data"]["tiers"] for r in records if r["kind"] == "offer.publish"}


def forgone_fen(purchase: Rec, tiers: dict[str, list[list[int]]]) -> int:
    """A public-welfare license's list price forgone (0 when its offer has no tiers in the log)."""
    d = purchase["data"]
    offer = tiers.get(d["offer_id"])
    return tier_unit_price(offer, int(d["quantity"])) * int(d["quantity"]) if offer else 0


def month_of(at: str) -> str:
    """`YYYY-MM` of a record's ISO time, in China Standard Time."""
    return datetime.fromisoformat(at).astimezone(CST).strftime("%Y-%m")


def _line(rec: Rec, **fields: Any) -> Rec:
    return {"category": None, "description": "", "forgone_fen": 0, **fields, "record": rec["seq"]}


def lines(records: list[Rec]) -> list[Rec]:
    """One product's ledger lines, in record order: `cost`, `sale`, `refund` and `public_welfare` (0 revenue, its
    list price forgone), each with its period, amount (fen) and the record (seq) backing it."""
    counted = {r["seq"] for r in effective_costs(records)}
    tiers, out = offer_tiers(records), []
    for r in records:
        d, kind = r["data"], r["kind"]
        if kind == COST_KIND and r["seq"] in counted:
            out.append(_line(r, kind="cost", period=d["incurred_on"][:7], date=d["incurred_on"],
                             category=d["category"], amount_fen=int(d["amount_fen"]), reference=d["cost_id"],
                             description=d["description"]))
        elif kind == "license.purchase" and d.get("use") == PUBLIC_WELFARE:
            out.append(_line(r, kind=PUBLIC_WELFARE, period=month_of(r["at"]), date=r["at"][:10], amount_fen=0,
                             reference=d["license_id"], forgone_fen=forgone_fen(r, tiers)))
        elif kind == "license.purchase":
            out.append(_line(r, kind="sale", period=month_of(r["at"]), date=r["at"][:10],
                             amount_fen=settled_fen(r), reference=d["license_id"]))
        elif kind == "license.refund":
            out.append(_line(r, kind="refund", period=month_of(r["at"]), date=r["at"][:10],
                             amount_fen=-settled_fen(r), reference=d["license_id"]))
    return out


def _period() -> dict[str, Any]:
    return {"costs": defaultdict(int), "costs_fen": 0, "revenue_fen": 0, "refunds_fen": 0, "net_revenue_fen": 0,
            "public_welfare_licenses": 0, "forgone_fen": 0}


def _add(p: dict[str, Any], line: Rec) -> None:
    fen = line["amount_fen"]
    if line["kind"] == "cost":
        p["costs"][line["category"]] += fen
        p["costs_fen"] += fen
    elif line["kind"] == "sale":
        p["revenue_fen"] += fen
        p["net_revenue_fen"] += fen
    elif line["kind"] == "refund":
        p["refunds_fen"] += fen
        p["net_revenue_fen"] -= fen
    else:
        p["public_welfare_licenses"] += 1
        p["forgone_fen"] += line["forgone_fen"]


def ledger_of(records: list[Rec], year: int | None = None) -> dict[str, Any]:
    """The ledger of one product's records: per month (of `year`, or all), costs by category and revenue, with
    cumulative totals counted from the first record; the totals of the months shown; the lines shown."""
    every = sorted(lines(records), key=lambda x: (x["period"], x["record"]))
    months: dict[str, dict[str, Any]] = defaultdict(_period)
    for line in every:
        _add(months[line["period"]], line)
    shown, cost_sum, net_sum = [], 0, 0
    for period in sorted(months):
        p = months[period]
        cost_sum, net_sum = cost_sum + p["costs_fen"], net_sum + p["net_revenue_fen"]
        if year is None or period.startswith(f"{year}-"):
            shown.append({"period": period, **p, "costs": dict(sorted(p["costs"].items())),
                          "cumulative_costs_fen": cost_sum, "cumulative_net_revenue_fen": net_sum})
    totals = _period()
    chosen = [x for x in every if year is None or x["period"].startswith(f"{year}-")]
    for line in chosen:
        _add(totals, line)
    totals["costs"] = {c: totals["costs"].get(c, 0) for c in CATEGORIES}
    to_date = _period()  # from the first record to the end of `year` (or of all)
    for line in every:
        if year is None or line["period"] < f"{year + 1}-":
            _add(to_date, line)
    totals["cumulative_costs_fen"], totals["cumulative_net_revenue_fen"] = (to_date["costs_fen"],
                                                                            to_date["net_revenue_fen"])
    return {"year": year, "periods": shown, "totals": totals, "lines": chosen}
