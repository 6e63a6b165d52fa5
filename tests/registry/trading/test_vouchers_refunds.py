"""Vouchers pay part of a price (on chain, within amount, sector and expiry); refunds inside the window."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.utils.server import Server
from tests.utils.trading import (
    balances,
    buy,
    count,
    listed_product,
    make_offer,
    mint,
    new_account,
    voucher_programme,
)

ZERO = "0x" + "0" * 40


def issue(server: Server, holder: str, amount: int, seconds: float = 3600, sectors: list[str] | None = None,
          programme: str | None = None) -> dict:
    programme = programme or voucher_programme(server, [holder])["id"]
    expires = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    with server.client("authority") as a:
        r = a.post("/vouchers", json={"programme_id": programme, "holder_id": holder, "amount_fen": amount,
                                      "expires_at": expires, "sectors": sectors or []})
        assert r.status_code == 201, r.text
        assert r.json()["chain"]["state"] == "confirmed"
        return dict(r.json())


def test_voucher_partial_payment_limits_and_expiry(server: Server) -> None:
    mint(server, server.ids["authority"], 10_000)
    product = listed_product(server)  # sector agriculture
    offer = make_offer(server, product, "one_off", [(1, 1000)])
    buyer = new_account(server, fen=5_000)
    voucher = issue(server, buyer["id"], 600, sectors=["agriculture"])
    wrong_sector = issue(server, buyer["id"], 600, sectors=["energy"])
    short = issue(server, buyer["id"], 100, seconds=2)
    payees = [p["account_id"] for p in offer["payees"]]
    with server.client(key=buyer["api_key"]) as c:
        q = c.get(f"/products/{product['id']}/quote",
                  params={"offer_id": offer["id"], "voucher_id": voucher["id"], "voucher_amount_fen": 400}).json()
        assert (q["amount_fen"], q["voucher_fen"], q["payable_fen"]) == (1000, 400, 600)
        before = balances(server, [buyer["id"], *payees])
        r = buy(c, offer["id"], voucher_id=voucher["id"], voucher_amount_fen=400)
        assert r.status_code == 201, r.text
        after = balances(server, [buyer["id"], *payees])
        # the buyer pays 600, the payees still receive the whole 1000 (700 / 200 / 100)
        assert [a - b for a, b in zip(after, before, strict=True)] == [-600, 700, 200, 100]
        assert r.json()["license"]["voucher_fen"] == 400
        assert server.ledger.voucher_remaining(voucher["id"]) == 200
        assert c.get(f"/vouchers/{voucher['id']}").json()["remaining_fen"] == 200
        orders = count(server, "orders")
        r = buy(c, offer["id"], voucher_id=voucher["id"], voucher_amount_fen=201)
        assert r.status_code == 409 and r.json()["error"] == "VoucherExceeded", r.text
        assert "remaining=200" in r.json()["detail"]
        r = buy(c, offer["id"], voucher_id=voucher["id"], voucher_amount_fen=1001)
        assert r.status_code == 409 and r.json()["error"] in ("VoucherAboveAmount", "VoucherExceeded")
        r = buy(c, offer["id"], voucher_id=wrong_sector["id"], voucher_amount_fen=10)
        assert r.status_code == 409 and r.json()["error"] == "VoucherSectorIneligible"
        time.sleep(2.2)
        r = buy(c, offer["id"], voucher_id=short["id"])
        assert r.status_code == 409 and r.json()["error"] == "VoucherExpired", r.text
        assert count(server, "orders") == orders
    _reclaim(server, short, voucher)
    with server.client(key=buyer["api_key"]) as c:
        # default: the voucher pays as much as it can (the remaining 200)
        r = buy(c, offer["id"], voucher_id=voucher["id"])
        assert r.status_code == 201 and r.json()["order"]["voucher_fen"] == 200
        assert server.ledger.voucher_remaining(voucher["id"]) == 0
    other = new_account(server, fen=5_000)
    with server.client(key=other["api_key"]) as c:
        r = buy(c, offer["id"], voucher_id=wrong_sector["id"], voucher_amount_fen=10)
        assert r.status_code == 409 and r.json()["error"] == "NotVoucherHolder"


def _reclaim(server: Server, expired: dict, live: dict) -> None:
    """The unspent fen of an expired voucher go back to the authority and to its programme's budget, once."""
    authority = server.accounts["authority"].address
    before = server.ledger.balance_of(authority)
    with server.client("authority") as a:
        r = a.post(f"/vouchers/{live['id']}/reclaim")
        assert r.status_code == 409 and r.json()["error"] == "VoucherNotExpired", r.text
        r = a.post(f"/vouchers/{expired['id']}/reclaim")
        assert r.status_code == 200, r.text
        assert (r.json()["reclaimed_fen"], r.json()["remaining_fen"]) == (100, 0)
        assert a.post(f"/vouchers/{expired['id']}/reclaim").status_code == 409
        programme = a.get(f"/voucher-programmes/{expired['programme_id']}").json()
    assert server.ledger.balance_of(authority) - before == 100
    assert programme["remaining_fen"] == programme["annual_budget_fen"]
    assert server.ledger.programme_remaining(expired["programme_id"]) == programme["annual_budget_fen"]


def test_a_voucher_for_a_holder_at_the_zero_address_is_refused_before_the_chain(server: Server) -> None:
    buyer = new_account(server)
    programme = voucher_programme(server, [buyer["id"]])["id"]
    vouchers, txs = count(server, "vouchers"), count(server, "chain_tx")
    with server.db().begin() as conn:  # an account row whose address is zero (no binding can make one)
        conn.execute(sa.text("UPDATE accounts SET address = :z WHERE id = :id"), {"z": ZERO, "id": buyer["id"]})
    try:
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        with server.client("authority") as a:
            r = a.post("/vouchers", json={"programme_id": programme, "holder_id": buyer["id"], "amount_fen": 100,
                                          "expires_at": expires})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "holder_id" and "ZeroHolder" in r.json()["detail"], r.text
        assert (count(server, "vouchers"), count(server, "chain_tx")) == (vouchers, txs)  # nothing written
    finally:
        with server.db().begin() as conn:
            conn.execute(sa.text("UPDATE accounts SET address = :a WHERE id = :id"),
                         {"a": buyer["address"], "id": buyer["id"]})


def test_refund_of_unused_license_within_window(server: Server) -> None:
    mint(server, server.ids["authority"], 1_000)
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 700)], refund_window_seconds=600)
    quick = make_offer(server, product, "one_off", [(1, 300)], refund_window_seconds=2)
    buyer = new_account(server, fen=5_000)
    voucher = issue(server, buyer["id"], 100)
    payees = [p["account_id"] for p in offer["payees"]]
    with server.client(key=buyer["api_key"]) as c:
        before = balances(server, [buyer["id"], *payees])
        r = buy(c, offer["id"], voucher_id=voucher["id"], voucher_amount_fen=100)
        assert r.status_code == 201, r.text
        lic = r.json()["license"]
        assert lic["status"] == "escrowed" and lic["refundable_until"]
        assert balances(server, [buyer["id"], *payees]) == [before[0] - 600, *before[1:]]  # held in escrow
        r = c.post(f"/licenses/{lic['id']}/refund")
        assert r.status_code == 200 and r.json()["status"] == "refunded", r.text
        assert balances(server, [buyer["id"], *payees]) == before
        assert server.ledger.voucher_remaining(voucher["id"]) == 100
        assert c.get(f"/vouchers/{voucher['id']}").json()["remaining_fen"] == 100
        r = c.post(f"/licenses/{lic['id']}/refund")
        assert r.status_code == 409 and r.json()["error"] == "NotEscrowed"
        # a paid-out window: release pays the split; refund is refused
        r = buy(c, quick["id"])
        assert r.status_code == 201
        kept = r.json()["license"]["id"]
        time.sleep(2.5)
        mint(server, server.ids["authority"], 1)  # Anvil mines only on demand: a block carrying the new time
        r = c.post(f"/licenses/{kept}/refund")
        assert r.status_code == 409 and r.json()["error"] == "RefundWindowClosed", r.text
        mid = balances(server, payees)
        r = c.post(f"/licenses/{kept}/release")
        assert r.status_code == 200 and r.json()["status"] == "paid", r.text
        assert [a - b for a, b in zip(balances(server, payees), mid, strict=True)] == [210, 60, 30]
        statement = c.get("/accounts/me/statement").json()
    assert statement["totals"]["spent_fen"] == 300 and len(statement["receipts"]) == 2
    assert {r["license_status"] for r in statement["receipts"]} == {"refunded", "paid"}
    assert statement["vouchers"][0]["remaining_fen"] == 100
