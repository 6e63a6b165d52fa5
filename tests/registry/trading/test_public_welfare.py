"""Use categories (价格形成机制): a public-welfare license is free, only for buyers the authority has named on
chain, records its use and declared purpose, and is what the authority audits."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.utils.server import Server
from tests.utils.trading import buy, count, listed_product, make_offer, new_account, offer_body

PURPOSE = "flood-risk planning for the county emergency bureau"


def test_a_public_welfare_purchase_is_free_recorded_and_audited(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "metered", [(1, 700)],
                       terms={**offer_body()["terms"], "purposes": ["agricultural statistics", PURPOSE]})
    buyer = new_account(server)  # holds no fen at all
    orders = count(server, "orders")
    with server.client(key=buyer["api_key"]) as b:
        r = buy(b, offer["id"], 3, use="public_welfare", purpose=PURPOSE)
        assert r.status_code == 409 and r.json()["error"] == "NotPublicWelfareUser", r.text  # not named yet
        r = b.post("/public-welfare-users", json={"account_id": buyer["id"], "eligible": True, "reason": "me"})
        assert r.status_code == 403, r.text  # nobody names itself
    with server.client("authority") as a:
        r = a.post("/public-welfare-users", json={"account_id": server.ids["operator"], "eligible": True,
                                                   "reason": "x"})
        assert r.status_code == 422 and r.json()["field"] == "account_id", r.text  # buyers only
        r = a.post("/public-welfare-users", json={"account_id": buyer["id"], "eligible": True,
                                                   "reason": "County emergency bureau, approval 2026-17"})
        assert r.status_code == 200 and r.json()["chain"]["state"] == "confirmed", r.text
    assert server.ledger.client.call(server.ledger.settlement.functions.publicWelfareUser(buyer["address"]))
    with server.client(key=buyer["api_key"]) as b:
        r = buy(b, offer["id"], 3, use="public_welfare", voucher_id=offer["id"])
        assert r.status_code == 422 and r.json()["field"] == "voucher_id", r.text  # nothing to pay with one
        assert count(server, "orders") == orders  # refusals write nothing
        r = buy(b, offer["id"], 3, use="public_welfare", purpose=PURPOSE)
        assert r.status_code == 201, r.text
    lic = r.json()["license"]
    assert (lic["amount_fen"], lic["unit_price_fen"], lic["use"], lic["payouts"]) == (0, 700, "public_welfare", [])
    assert (lic["terms"]["use"], lic["terms"]["purpose"]) == ("public_welfare", PURPOSE)
    on_chain = server.ledger.license(lic["id"])
    assert on_chain is not None and (on_chain.amount, on_chain.use) == (0, 1)
    assert server.ledger.balance_of(buyer["address"]) == 0
    with server.db().connect() as conn:
        body = conn.execute(sa.text("SELECT body FROM ledger_records WHERE kind = 'license.purchase' "
                                    "ORDER BY seq DESC LIMIT 1")).scalar_one()
    assert json.loads(body)["data"]["use"] == "public_welfare"
    with server.client("authority") as a:
        audited = a.get("/licenses", params={"use": "public_welfare"}).json()
        assert lic["id"] in {x["id"] for x in audited} and {x["use"] for x in audited} == {"public_welfare"}
        assert a.get("/licenses", params={"use": "charity"}).status_code == 422
        named = {u["account_id"]: u for u in a.get("/public-welfare-users").json()}
        assert named[buyer["id"]]["eligible"] and "approval 2026-17" in named[buyer["id"]]["reason"]
        r = a.post("/public-welfare-users", json={"account_id": buyer["id"], "eligible": False,
                                                   "reason": "project ended"})
        assert r.status_code == 200, r.text
    with server.client(key=buyer["api_key"]) as b:
        r = buy(b, offer["id"], 1, use="public_welfare", purpose=PURPOSE)
        assert r.status_code == 409 and r.json()["error"] == "NotPublicWelfareUser", r.text  # withdrawn
