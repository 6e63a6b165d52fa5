"""The sections of an annual report, one function each, every one a pure function of `Sources` and the year.

New sections (voucher programmes, purpose categories) are added to `AUTHORITY_SECTIONS` or
`OPERATOR_SECTIONS` in `registry.reports.build`; a published report keeps the sections it was computed with.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from registry.assets.book import PUBLIC_WELFARE, effective_costs, forgone_fen, offer_tiers
from registry.assets.categories import CATEGORIES
from registry.reports.period import year_bounds, year_of
from registry.reports.revenue import RevenueBook, book_of
from registry.reports.sources import STATUS, Sources

CLASSIFICATION = {0: "general", 1: "important", 2: "core"}


def _end(year: int) -> int:
    return int(year_bounds(year)[1].timestamp())


def _record_time(rec: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(rec["at"]).timestamp())


def _in(year: int, at: str | int) -> bool:
    return year_of(at) == year


def revenue_book(src: Sources) -> RevenueBook:
    operators = src.operator_of()
    return book_of(src.records, operators.get)


def _grant(src: Sources, e: dict[str, Any]) -> dict[str, Any]:
    operator = src.account_of(e["operator"])
    return {"authorization": src.id_of(e["authorization"]), "operator_id": operator,
            "operator": src.names.get(operator), "resources": [src.id_of(r) for r in e["resources"]],
            "valid_from": e["validFrom"], "valid_until": e["validUntil"],
            "max_classification": CLASSIFICATION.get(e["maxClassification"]), "at": e["at"], "tx": e["tx"]}


def authorizations_granted(src: Sources, year: int) -> list[dict[str, Any]]:
    """Authorizations granted in the year (AuthorizationGranted), with their scope: resources, window, class."""
    return [_grant(src, e) for e in src.events if e["name"] == "AuthorizationGranted" and _in(year, e["at"])]


def authorizations_revoked(src: Sources, year: int) -> list[dict[str, Any]]:
    """Authorizations revoked in the year (AuthorizationRevoked), with the reason of their record."""
    reasons = {r["subject"]: r["data"].get("reason") for r in src.records if r["kind"] == "authorization.revoked"}
    out = []
    for e in src.events:
        if e["name"] == "AuthorizationRevoked" and _in(year, e["at"]):
            authz = src.id_of(e["authorization"])
            out.append({"authorization": authz, "operator_id": src.account_of(e["operator"]),
                        "reason": reasons.get(authz), "at": e["at"], "tx": e["tx"]})
    return out


def authorizations_limited(src: Sources, year: int) -> list[dict[str, Any]]:
    """Authorizations limited in the year (AuthorizationLimited): the new end, with the reason and the purposes
    kept of their record (each limit changes the terms, so (authorization, end, purposes hash) names one)."""
    notes = {(r["subject"], r["data"]["valid_until"], r["data"]["purpose_hash"]): r["data"] for r in src.records
             if r["kind"] == "authorization.limited"}
    out = []
    for e in src.events:
        if e["name"] == "AuthorizationLimited" and _in(year, e["at"]):
            authz = src.id_of(e["authorization"])
            note = notes.get((authz, e["validUntil"], e["purposeHash"].removeprefix("0x")), {})
            out.append({"authorization": authz, "operator_id": src.account_of(e["operator"]),
                        "valid_until": e["validUntil"], "purposes": note.get("purposes"),
                        "reason": note.get("reason"), "at": e["at"], "tx": e["tx"]})
    return out


def price_caps(src: Sources, year: int, products: set[str] | None = None) -> dict[str, Any]:
    """Caps set in the year (`price_cap.set`) and the cap in force per product at the year's end."""
    end, set_in, in_force = _end(year), [], {}
    for r in src.records:
        if r["kind"] != "price_cap.set" or (products is not None and r["subject"] not in products):
            continue
        terms = {k: v for k, v in r["data"].items() if k != "signed"}
        if _in(year, r["at"]):
            set_in.append({"product_id": r["subject"], **terms, "at": r["at"], "record": r["seq"]})
        if _record_time(r) < end:
            in_force[r["subject"]] = terms
    return {"set": set_in, "in_force": [{"product_id": p, **t} for p, t in sorted(in_force.items())]}


def allowed_revenue(src: Sources, year: int, operator: str | None = None) -> list[dict[str, Any]]:
    """Per operator: maximum allowed revenue, carried deduction, effective maximum, revenue, excess, flags."""
    book = revenue_book(src)
    ops = {operator} if operator else {op for op, y in book.allowed if y in (year, year - 1)}
    return [book.row(op, year) for op in sorted(ops)]


def operator_authorizations(src: Sources, year: int, operator: str) -> list[dict[str, Any]]:
    """The operator's authorizations in force at some time in the year, with `revoked_at` when revoked."""
    start, end = int(year_bounds(year)[0].timestamp()), _end(year)
    revoked = {e["authorization"]: e["at"] for e in src.events if e["name"] == "AuthorizationRevoked"}
    limited = {e["authorization"]: e["validUntil"] for e in src.events  # the last limit by the year's end
               if e["name"] == "AuthorizationLimited" and e["at"] < end}
    out = []
    for e in src.events:
        if e["name"] != "AuthorizationGranted" or src.account_of(e["operator"]) != operator or e["at"] >= end:
            continue
        gone, until = revoked.get(e["authorization"]), limited.get(e["authorization"], e["validUntil"])
        if (gone is not None and gone < start) or until < start:
            continue
        out.append({**_grant(src, e), "valid_until": until,
                    "revoked_at": gone if gone is not None and gone < end else None})
    return out


def operator_products(src: Sources, year: int, operator: str) -> list[dict[str, Any]]:
    """The operator's products registered by the year's end, with their status then (the chain's)."""
    end, status, out = _end(year), {}, []
    for e in src.events:
        if e["name"] == "ProductStatusChanged" and e["at"] < end:
            status[e["product"]] = STATUS.get(e["toStatus"], str(e["toStatus"]))
    for e in src.events:
        if e["name"] == "ProductRegistered" and src.account_of(e["operator"]) == operator and e["at"] < end:
            out.append({"product_id": src.id_of(e["product"]), "authorization": src.id_of(e["authorization"]),
                        "resources": [src.id_of(r) for r in e["resources"]],
                        "status": status.get(e["product"], "registered"), "at": e["at"], "tx": e["tx"]})
    return out


def operator_prices(src: Sources, year: int, operator: str) -> list[dict[str, Any]]:
    """The operator's offers on sale at some time in the year: charge form, pricing basis, tiers (fen per unit)."""
    start, end = int(year_bounds(year)[0].timestamp()), _end(year)
    withdrawn = {r["data"]["offer_id"]: _record_time(r) for r in src.records if r["kind"] == "offer.withdraw"}
    out = []
    for r in src.records:
        if r["kind"] != "offer.publish" or r["actor"] != operator or _record_time(r) >= end:
            continue
        d = r["data"]
        if withdrawn.get(d["offer_id"], end) < start:
            continue
        out.append({"offer_id": d["offer_id"], "product_id": r["subject"], "charge_form": d["kind"],
                    "basis": d["basis"], "tiers": d["tiers"], "record": r["seq"]})
    return out


def _charge_forms(src: Sources) -> dict[str, str]:
    """Offer id -> its charge form (an agreed negotiation's offer: the form negotiated)."""
    forms = {r["data"]["offer_id"]: r["data"]["kind"] for r in src.records if r["kind"] == "offer.publish"}
    asked = {r["data"]["negotiation_id"]: r["data"].get("kind") for r in src.records
             if r["kind"] == "negotiation.requested" and r["data"].get("kind")}
    for r in src.records:
        if r["kind"] == "negotiation.agreed" and "offer_id" in r["data"]:
            forms[r["data"]["offer_id"]] = asked.get(r["data"]["negotiation_id"], "negotiated")
    return forms


def sales(src: Sources, year: int, operator: str) -> list[dict[str, Any]]:
    """Revenue and volume by product and charge form: licenses, quantity, amount, voucher part, refunds (fen)."""
    mine = {p for p, op in src.operator_of().items() if op == operator}
    forms, form_of_license = _charge_forms(src), {}
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"licenses": 0, "quantity": 0, "amount_fen": 0, "voucher_fen": 0, "refunded_fen": 0})
    for r in src.records:
        if r["subject"] not in mine or r["kind"] not in ("license.purchase", "license.refund"):
            continue
        d = r["data"]
        if r["kind"] == "license.purchase":
            form_of_license[d["license_id"]] = forms.get(d["offer_id"], "unknown")
        if not _in(year, r["at"]):
            continue
        row = rows[(r["subject"], form_of_license.get(d["license_id"], "unknown"))]
        if r["kind"] == "license.purchase":
            row["licenses"] += 1
            row["quantity"] += int(d["quantity"])
            row["amount_fen"] += int(d["amount_fen"])
            row["voucher_fen"] += int(d["voucher_fen"])
        else:
            row["refunded_fen"] += int(d["buyer_fen"]) + int(d["voucher_fen"])
    return [{"product_id": p, "charge_form": f, **v} for (p, f), v in sorted(rows.items())]


def usage(src: Sources, year: int, operator: str) -> list[dict[str, Any]]:
    """Per product: queries served (`query.run`) and privacy budget spent (ε of `query.charge` records, less the
    refunded ones), as decimal strings."""
    mine = {p for p, op in src.operator_of().items() if op == operator}
    charged: dict[str, tuple[str, Decimal]] = {}
    queries: dict[str, int] = defaultdict(int)
    for r in src.records:
        if r["subject"] not in mine or not _in(year, r["at"]):
            continue
        if r["kind"] == "query.run":
            queries[r["subject"]] += 1
        elif r["kind"] == "query.charge":
            charged[r["data"]["charge_id"]] = (r["subject"], Decimal(str(r["data"]["epsilon"])))
        elif r["kind"] == "query.charge_refunded":
            charged.pop(r["data"]["charge_id"], None)
    spent: dict[str, Decimal] = defaultdict(Decimal)
    for product, eps in charged.values():
        spent[product] += eps
    return [{"product_id": p, "queries": queries.get(p, 0), "epsilon_spent": _decimal(spent.get(p, Decimal(0)))}
            for p in sorted(set(queries) | set(spent))]


def _decimal(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def vouchers_redeemed(src: Sources, year: int, operator: str) -> dict[str, int]:
    """Voucher fen paid for the operator's products in the year, less what refunds returned to vouchers."""
    rows = sales(src, year, operator)
    redeemed = sum(r["voucher_fen"] for r in rows)
    mine = {p for p, op in src.operator_of().items() if op == operator}
    returned = sum(int(r["data"]["voucher_fen"]) for r in src.records
                   if r["kind"] == "license.refund" and r["subject"] in mine and _in(year, r["at"]))
    return {"redeemed_fen": redeemed, "returned_fen": returned, "net_fen": redeemed - returned}


def declared_costs(src: Sources, year: int, operator: str) -> dict[str, Any]:
    """Costs the operator declared for its products, incurred in the year (corrections counted instead of what
    they correct, `registry.assets.book`): by product and category, by category, and the total (fen)."""
    mine = {p for p, op in src.operator_of().items() if op == operator}
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"entries": 0, "amount_fen": 0})
    for r in effective_costs(src.records):
        d = r["data"]
        if r["subject"] in mine and d["incurred_on"].startswith(f"{year}-") and int(d["amount_fen"]):
            row = rows[(r["subject"], d["category"])]
            row["entries"] += 1
            row["amount_fen"] += int(d["amount_fen"])
    by_category = {c: sum(v["amount_fen"] for (_, cat), v in rows.items() if cat == c) for c in CATEGORIES}
    return {"by_product": [{"product_id": p, "category": c, **v} for (p, c), v in sorted(rows.items())],
            "by_category": by_category, "total_fen": sum(by_category.values())}


def public_welfare(src: Sources, year: int, operator: str) -> list[dict[str, Any]]:
    """Per product: the licenses taken free for public-welfare use in the year, their quantity and the list price
    forgone (fen; `registry.assets.book.forgone_fen`)."""
    mine = {p for p, op in src.operator_of().items() if op == operator}
    tiers = offer_tiers(src.records)
    rows: dict[str, dict[str, int]] = defaultdict(lambda: {"licenses": 0, "quantity": 0, "forgone_fen": 0})
    for r in src.records:
        if (r["kind"] == "license.purchase" and r["subject"] in mine and r["data"].get("use") == PUBLIC_WELFARE
                and _in(year, r["at"])):
            row = rows[r["subject"]]
            row["licenses"] += 1
            row["quantity"] += int(r["data"]["quantity"])
            row["forgone_fen"] += forgone_fen(r, tiers)
    return [{"product_id": p, **v} for p, v in sorted(rows.items())]
