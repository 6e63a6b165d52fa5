"""The report sections and the maximum-allowed-revenue rule as pure functions of records and events (no chain)."""

from __future__ import annotations

from typing import Any

from ledger.ids import chain_id_of
from registry.assets.book import ledger_of
from registry.reports.build import build_report, differences, report_hash
from registry.reports.period import year_of
from registry.reports.revenue import book_of
from registry.reports.sources import Sources, h

OP, OP2, AUTH, BUYER = (f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 5))
P1, P2 = "10000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002"
AUTHZ = "20000000-0000-4000-8000-000000000001"
ADDR = {OP: "0x" + "11" * 20, OP2: "0x" + "22" * 20}


def rec(seq: int, kind: str, actor: str, subject: str, at: str, /, **data: Any) -> dict[str, Any]:
    return {"v": 2, "seq": seq, "kind": kind, "actor": actor, "subject": subject, "authorization": None,
            "at": at, "data": data}


def purchase(seq: int, product: str, at: str, amount: int, license_id: str, offer: str = "o1",
             voucher: int = 0, quantity: int = 1) -> dict[str, Any]:
    return rec(seq, "license.purchase", BUYER, product, at, license_id=license_id, offer_id=offer, quantity=quantity,
               amount_fen=amount, voucher_fen=voucher, order_id="x")


def sources(records: list[dict[str, Any]]) -> Sources:
    src = Sources(log_size=len(records), block=100, records=records, accounts={a: o for o, a in ADDR.items()},
                  names={OP: "Op One"})
    for p, op in ((P1, OP), (P2, OP2)):
        src.ids[h(chain_id_of(p))] = p
        src.events.append({"name": "ProductRegistered", "product": h(chain_id_of(p)), "operator": ADDR[op],
                           "authorization": h(chain_id_of(AUTHZ)), "resources": ["0x" + "ab" * 32],
                           "sector": "0x" + "00" * 32, "at": 1_770_000_000, "tx": "0xt"})
    src.ids[h(chain_id_of(AUTHZ))] = AUTHZ
    src.events.append({"name": "AuthorizationGranted", "authorization": h(chain_id_of(AUTHZ)), "operator": ADDR[OP],
                       "resources": ["0x" + "ab" * 32], "validFrom": 0, "validUntil": 1_900_000_000,
                       "maxClassification": 1, "purposeHash": "0x", "at": 1_770_000_000, "tx": "0xg"})
    return src


def test_a_year_is_counted_in_china_standard_time() -> None:
    assert year_of("2025-12-31T15:59:59+00:00") == 2025
    assert year_of("2025-12-31T16:00:00+00:00") == 2026


def test_excess_is_carried_as_a_deduction_into_the_next_year() -> None:
    records = [
        rec(0, "revenue_allowance.set", AUTH, OP, "2025-01-02T00:00:00+00:00", year=2025, allowed_fen=1000),
        rec(1, "revenue_allowance.set", AUTH, OP, "2025-01-02T00:00:01+00:00", year=2026, allowed_fen=1000),
        purchase(2, P1, "2025-06-01T00:00:00+00:00", 900, "l1"),
        purchase(3, P1, "2025-07-01T00:00:00+00:00", 600, "l2"),
        rec(4, "revenue.exceeded", OP, P1, "2025-07-01T00:00:00+00:00", year=2025),
        purchase(5, P2, "2025-07-01T00:00:00+00:00", 5000, "l3"),  # another operator's product
        purchase(6, P1, "2026-03-01T00:00:00+00:00", 400, "l4"),
        rec(7, "license.refund", BUYER, P1, "2026-03-02T00:00:00+00:00", license_id="l4", buyer_fen=100,
            voucher_fen=0),
    ]
    book = book_of(records, {P1: OP, P2: OP2}.get)
    assert book.row(OP, 2025) == {"operator_id": OP, "year": 2025, "allowed_fen": 1000, "carried_fen": 0,
                                  "effective_fen": 1000, "revenue_fen": 1500, "excess_fen": 500, "flags": [4]}
    y2026 = book.row(OP, 2026)
    assert (y2026["carried_fen"], y2026["effective_fen"], y2026["revenue_fen"], y2026["excess_fen"]) == (
        500, 500, 300, 0)
    assert book.row(OP, 2027)["carried_fen"] == 0 and book.row(OP, 2027)["effective_fen"] is None
    assert book.row(OP2, 2025)["excess_fen"] == 0  # no maximum set: nothing is over it


def test_operating_sections_sum_sales_usage_and_vouchers_by_product_and_charge_form() -> None:
    at = "2026-05-01T00:00:00+00:00"
    src = sources([
        rec(0, "offer.publish", OP, P1, at, offer_id="o1", kind="one_off", basis="cost", tiers=[[1, 1000]],
            payees=[], buyer_id=None),
        rec(1, "offer.publish", OP, P1, at, offer_id="o2", kind="metered", basis="cost", tiers=[[1, 5]],
            payees=[], buyer_id=None),
        purchase(2, P1, at, 1000, "l1", "o1", voucher=300),
        purchase(3, P1, at, 50, "l2", "o2", quantity=10),
        rec(4, "license.refund", BUYER, P1, at, license_id="l1", buyer_fen=700, voucher_fen=300),
        rec(5, "query.charge", BUYER, P1, at, charge_id="c1", epsilon="0.25"),
        rec(6, "query.charge", BUYER, P1, at, charge_id="c2", epsilon="0.5"),
        rec(7, "query.charge_refunded", BUYER, P1, at, charge_id="c2", license_id="l2"),
        rec(8, "query.run", BUYER, P1, at, query_id="q1"),
        purchase(9, P1, "2027-01-01T00:00:00+00:00", 999, "l3", "o1"),  # next year
    ])
    report = build_report(src, 2026, OP)
    op = report["operating"]
    assert op["sales"] == [
        {"product_id": P1, "charge_form": "metered", "licenses": 1, "quantity": 10, "amount_fen": 50,
         "voucher_fen": 0, "refunded_fen": 0},
        {"product_id": P1, "charge_form": "one_off", "licenses": 1, "quantity": 1, "amount_fen": 1000,
         "voucher_fen": 300, "refunded_fen": 1000}]
    assert op["usage"] == [{"product_id": P1, "queries": 1, "epsilon_spent": "0.25"}]
    assert op["vouchers"] == {"redeemed_fen": 300, "returned_fen": 300, "net_fen": 0}
    assert op["revenue"]["revenue_fen"] == 50 and op["costs"]["total_fen"] == 0 and op["public_welfare"] == []
    d = report["disclosure"]
    assert [p["product_id"] for p in d["products"]] == [P1]
    assert [a["authorization"] for a in d["authorizations"]] == [AUTHZ] and d["resources"] == ["0x" + "ab" * 32]
    assert [o["offer_id"] for o in d["prices"]] == ["o1", "o2"]


def test_a_changed_number_is_named_by_its_path_and_changes_the_hash() -> None:
    src = sources([purchase(0, P1, "2026-05-01T00:00:00+00:00", 1000, "l1")])
    report = build_report(src, 2026, OP)
    tampered = build_report(src, 2026, OP)
    tampered["operating"]["sales"][0]["amount_fen"] = 10
    assert differences(tampered, report) == [("operating.sales[0].amount_fen", 10, 1000)]
    assert report_hash(tampered) != report_hash(report)
    authority = build_report(src, 2026, "authority")["authority"]
    assert [g["authorization"] for g in authority["authorizations_granted"]] == [AUTHZ]


def cost(seq: int, product: str, on: str, category: str, amount: int, cost_id: str,
         corrects: str | None = None) -> dict[str, Any]:
    return rec(seq, "cost.declared", OP, product, "2026-06-01T00:00:00+00:00", cost_id=cost_id, incurred_on=on,
               category=category, amount_fen=amount, description="d", evidence_hash=None, corrects=corrects)


def test_declared_costs_count_corrections_instead_and_public_welfare_shows_the_price_forgone() -> None:
    at = "2026-05-01T00:00:00+00:00"
    free = purchase(7, P1, at, 0, "l1", "o1", quantity=100)
    free["data"]["use"] = "public_welfare"  # 100 at the second tier's 8 fen: 800 fen forgone
    records = [
        rec(0, "offer.publish", OP, P1, at, offer_id="o1", kind="metered", basis="cost", tiers=[[1, 10], [100, 8]],
            payees=[], buyer_id=None),
        cost(1, P1, "2026-04-30", "storage", 5000, "c1"),
        cost(2, P1, "2026-05-02", "personnel", 700, "c2"),
        cost(3, P1, "2026-04-30", "storage", 4000, "c3", corrects="c1"),  # replaces c1
        cost(4, P1, "2026-05-03", "other", 0, "c4", corrects="c2"),  # withdraws c2
        cost(5, P1, "2025-12-31", "collection", 900, "c5"),  # last year
        cost(6, P2, "2026-05-01", "storage", 111, "c6"),  # another operator's product
        free,
        purchase(8, P1, "2026-05-20T00:00:00+00:00", 1000, "l2", "o1"),
        rec(9, "license.refund", BUYER, P1, "2026-05-21T00:00:00+00:00", license_id="l2", buyer_fen=600,
            voucher_fen=400),
    ]
    op = build_report(sources(records), 2026, OP)["operating"]
    assert op["costs"]["by_product"] == [{"product_id": P1, "category": "storage", "entries": 1, "amount_fen": 4000}]
    assert op["costs"]["total_fen"] == 4000 and op["costs"]["by_category"]["personnel"] == 0
    assert op["public_welfare"] == [{"product_id": P1, "licenses": 1, "quantity": 100, "forgone_fen": 800}]

    book = ledger_of([r for r in records if r["subject"] == P1], 2026)
    assert [p["period"] for p in book["periods"]] == ["2026-04", "2026-05"]
    t = book["totals"]
    assert (t["costs_fen"], t["revenue_fen"], t["refunds_fen"], t["net_revenue_fen"], t["forgone_fen"]) == (
        4000, 1000, 1000, 0, 800)
    assert (t["cumulative_costs_fen"], book["periods"][0]["cumulative_costs_fen"]) == (4900, 4900)
    assert [x["record"] for x in book["lines"] if x["kind"] == "cost"] == [3, 4]


def test_a_limit_shows_in_the_year_and_ends_the_operators_authorization_earlier() -> None:
    src = sources([rec(0, "authorization.limited", AUTH, AUTHZ, "2026-03-01T00:00:00+00:00", reason="narrowed",
                       valid_until=1_780_000_000, purposes=["statistics"], purpose_hash="ab" * 32)])
    assert "authorizations_limited" not in build_report(src, 2026, "authority")["authority"]  # none: as before
    src.events.append({"name": "AuthorizationLimited", "authorization": h(chain_id_of(AUTHZ)), "operator": ADDR[OP],
                       "validUntil": 1_780_000_000, "purposeHash": "0x" + "ab" * 32, "reasonHash": "0x",
                       "at": 1_772_000_000, "tx": "0xl"})
    (limit,) = build_report(src, 2026, "authority")["authority"]["authorizations_limited"]
    assert (limit["authorization"], limit["operator_id"], limit["reason"], limit["purposes"]) == (
        AUTHZ, OP, "narrowed", ["statistics"])
    assert [a["valid_until"] for a in build_report(src, 2026, OP)["disclosure"]["authorizations"]] == [1_780_000_000]
    assert build_report(src, 2027, OP)["disclosure"]["authorizations"] == []  # ended in 2026, before 2027
