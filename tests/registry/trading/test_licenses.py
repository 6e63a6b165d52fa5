"""The license API the query service calls: checks, atomic spending under concurrency, refunds of a spend."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session

from registry.errors import Forbidden
from registry.trading.errors import UsageRefused
from registry.trading.licenses import authorize_and_spend, refund_spend
from tests.utils.server import Server
from tests.utils.trading import TERMS, actor, bought, listed_product, make_offer, new_account, spend


def test_checks_name_the_rule_and_what_is_left(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "metered", [(1, 3)], refund_window_seconds=600)
    buyer = new_account(server, fen=1_000)
    lic = bought(server, buyer, offer, 3)
    me = actor(server, buyer["id"])
    engine = server.db()
    with Session(engine) as s:
        with pytest.raises(UsageRefused) as exc:
            authorize_and_spend(s, me, lic["id"], kinds={"stddev"}, columns={"county"}, epsilon=0.1, delta=0)
        assert exc.value.code == "QueryKindNotAllowed"
        with pytest.raises(UsageRefused) as exc:
            authorize_and_spend(s, me, lic["id"], kinds={"sum"}, columns={"secret"}, epsilon=0.1, delta=0)
        assert exc.value.code == "ColumnNotAllowed"
        with pytest.raises(UsageRefused) as exc:
            authorize_and_spend(s, me, lic["id"], kinds={"sum"}, columns={"yield_t"}, epsilon=1.5, delta=0)
        assert exc.value.code == "PrivacyBudgetExhausted" and "epsilonLeft=1.0" in exc.value.detail
        with pytest.raises(Forbidden):
            authorize_and_spend(s, actor(server, server.ids["buyer"]), lic["id"], kinds={"count"}, columns=set(),
                                epsilon=0.1, delta=0)
        grant = authorize_and_spend(s, me, lic["id"], kinds={"sum"}, columns={"yield_t"}, epsilon=0.4, delta=0)
        s.commit()
        assert (grant.queries_left, grant.epsilon_left, grant.unit_price_fen) == (2, 0.6, 3)
        assert refund_spend(s, grant) and not refund_spend(s, grant)  # a failed query costs nothing, once
        s.commit()
        grant = authorize_and_spend(s, me, lic["id"], kinds={"count"}, columns={"county"}, epsilon=0.1, delta=0)
        s.commit()
        assert grant.queries_left == 2
    engine.dispose()
    with server.client(key=buyer["api_key"]) as c:
        charges = c.get(f"/licenses/{lic['id']}/charges").json()
        assert [(x["unit_price_fen"], x["refunded"]) for x in charges] == [(3, True), (3, False)]
        r = c.post(f"/licenses/{lic['id']}/refund")
        assert r.status_code == 409 and r.json()["error"] == "LicenseUsed"
        statement = c.get("/accounts/me/statement").json()
        assert [m["unit_price_fen"] for m in statement["metered"]] == [3, 3]
        assert statement["totals"]["metered_drawn_fen"] == 3
    with server.client("exchange") as ex:
        assert ex.post(f"/products/{product['id']}/suspend", json={"reason": "audit"}).status_code == 200
    assert spend(server, me, lic["id"]) == "ProductNotTradable"
    with server.client("exchange") as ex:
        assert ex.post(f"/products/{product['id']}/relist", json={"reason": "ok"}).status_code == 200
    assert [spend(server, me, lic["id"]) for _ in range(3)] == ["ok", "ok", "QueryQuotaExhausted"]


def test_concurrent_queries_never_overspend(server: Server) -> None:
    """30 concurrent queries against a 10-query quota; 30 more against epsilon 1.0 at 0.3 each;
    and the (product, buyer) cap across two licenses."""
    product = listed_product(server)
    quota = make_offer(server, product, "metered", [(1, 1)])
    budget = make_offer(server, product, "one_off", [(1, 1)], terms={**TERMS, "epsilon": 1.0})
    buyer = new_account(server, fen=1_000)
    me = actor(server, buyer["id"])
    lic_q = bought(server, buyer, quota, 10)
    lic_b = bought(server, buyer, budget)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: spend(server, me, lic_q["id"], eps=0.01), range(30)))
    assert results.count("ok") == 10 and results.count("QueryQuotaExhausted") == 20
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: spend(server, me, lic_b["id"], eps=0.3), range(30)))
    assert results.count("ok") == 3 and results.count("PrivacyBudgetExhausted") == 27
    with server.client(key=buyer["api_key"]) as c:
        q = c.get(f"/licenses/{lic_q['id']}").json()
        b = c.get(f"/licenses/{lic_b['id']}").json()
    assert q["queries_used"] == 10 and q["queries_left"] == 0
    assert b["queries_used"] == 3 and abs(b["epsilon_left"] - 0.1) < 1e-9
    # across licenses: the operator caps this buyer's total epsilon on the product at 1.5
    with server.client("operator") as op:
        r = op.put(f"/products/{product['id']}/budget-policy", json={"epsilon": 1.5, "delta": 1e-3})
        assert r.status_code == 200, r.text
    lic_c = bought(server, buyer, budget)  # spent so far on the product: 0.1 + 0.9 = 1.0
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: spend(server, me, lic_c["id"], eps=0.2), range(10)))
    assert results.count("ok") == 2 and results.count("PrivacyBudgetExhausted") == 8
