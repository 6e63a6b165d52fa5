"""An authorization that expires (not revoked) stops its product from being sold or queried."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.utils.builders import make_authorization, make_product, make_resource
from tests.utils.server import Server
from tests.utils.trading import actor, bought, buy, make_offer, new_account, spend, sweep_suspends


def test_expired_authorization_stops_sales_and_queries(server: Server) -> None:
    res = make_resource(server)
    until = datetime.now(UTC) + timedelta(seconds=12)
    authz = make_authorization(server, [res["id"]], valid_until=until.isoformat())
    product = make_product(server, authz, stage="listed", provider_ids=[server.ids["provider"]])
    offer = make_offer(server, product, "one_off", [(1, 100)])
    buyer = new_account(server, fen=1_000)
    lic = bought(server, buyer, offer)
    who = actor(server, buyer["id"])
    assert spend(server, who, lic["id"]) == "ok"
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1)
    assert spend(server, who, lic["id"]) == "ProductNotTradable"
    with server.client(key=buyer["api_key"]) as c:
        r = buy(c, offer["id"])
    assert r.status_code == 409, r.text
    with server.client("buyer") as c:
        assert c.post("/authorizations/sweep-expired").status_code == 403
    sweep_suspends(server, authz["id"], product["id"])
    with server.client("exchange") as c:
        assert c.post("/authorizations/sweep-expired").json()["expired"] == []  # nothing left to sweep
    with server.client("auditor") as c:
        assert c.get(f"/products/{product['id']}").json()["status"] == "suspended"
        assert c.get(f"/products/{product['id']}/chain").json()["agree"]
