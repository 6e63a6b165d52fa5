"""Every pricing model end to end: quote from the contract, purchase on chain, balances to the fen."""

from __future__ import annotations

from privacy.plan import KINDS
from registry.trading.schemas import QueryKind
from tests.ledger.chain_helpers import now
from tests.utils.server import Server
from tests.utils.trading import balances, buy, count, listed_product, make_offer, new_account, offer_body


def test_query_kinds_are_the_query_languages() -> None:
    assert set(QueryKind.__args__) == set(KINDS) | {"verify"}  # type: ignore[attr-defined]


def test_one_off_three_way_split_with_remainder(server: Server) -> None:
    product = listed_product(server)
    provider, operator, exchange = server.ids["provider"], server.ids["operator"], server.ids["exchange"]
    # 3333 / 3333 / 3334 bps of 1001 fen: floors 333+333+333 = 999; the 2 fen left go to the largest
    # fractional parts: the exchange (.7674), then the provider (.3633, tie with the operator -> first).
    offer = make_offer(server, product, "one_off", [(1, 1001)],
                       split={"providers": [{"account_id": provider, "bps": 3333}], "operator": 3333,
                              "exchange": 3334})
    assert [(p["role"], p["bps"]) for p in offer["payees"]] == [("provider", 3333), ("operator", 3333),
                                                                ("exchange", 3334)]
    buyer = new_account(server, fen=5_000)
    with server.client(key=buyer["api_key"]) as c:
        q = c.get(f"/products/{product['id']}/quote", params={"offer_id": offer["id"], "quantity": 1})
        assert q.status_code == 200, q.text
        quote = q.json()
        assert quote["amount_fen"] == 1001 and quote["payable_fen"] == 1001 and quote["bps_total"] == 10_000
        assert [p["amount_fen"] for p in quote["payees"]] == [334, 333, 334]
        assert quote["remainder_fen"] == 2 and "largest-remainder" in quote["remainder_rule"]
        before = balances(server, [buyer["id"], provider, operator, exchange])
        r = buy(c, offer["id"])
        assert r.status_code == 201, r.text
        body = r.json()
    after = balances(server, [buyer["id"], provider, operator, exchange])
    assert [a - b for a, b in zip(after, before, strict=True)] == [-1001, 334, 333, 334]
    assert body["order"]["state"] == "paid" and body["order"]["chain"]["tx_hash"]
    lic = body["license"]
    assert lic["status"] == "paid" and lic["amount_fen"] == 1001
    assert [p["amount_fen"] for p in lic["payouts"]] == [334, 333, 334]
    chain_lic = server.ledger.license(lic["id"])
    assert chain_lic is not None and chain_lic.terms_hash.hex() == lic["terms_hash"]
    assert chain_lic.amount == 1001 and lic["max_queries"] == 100


def test_subscription_and_metered_tiers(server: Server) -> None:
    product = listed_product(server)
    sub = make_offer(server, product, "subscription", [(1, 500), (12, 400)], term_days=30, basis="revenue")
    metered = make_offer(server, product, "metered", [(1, 10), (100, 8), (1000, 6)])
    buyer = new_account(server, fen=20_000)
    operator, authority, exchange = server.ids["operator"], server.ids["authority"], server.ids["exchange"]
    with server.client(key=buyer["api_key"]) as c:
        for offer, qty, unit in ((sub, 12, 400), (sub, 11, 500), (metered, 150, 8), (metered, 99, 10)):
            quote = c.get(f"/products/{product['id']}/quote", params={"offer_id": offer["id"], "quantity": qty}).json()
            assert quote["unit_price_fen"] == unit and quote["amount_fen"] == unit * qty
            # 70% / 20% / 10%: the split of unit*qty to the fen
            assert [p["amount_fen"] for p in quote["payees"]] == [unit * qty * 7 // 10, unit * qty * 2 // 10,
                                                                  unit * qty // 10]
            before = balances(server, [buyer["id"], operator, authority, exchange])
            r = buy(c, offer["id"], qty)
            assert r.status_code == 201, r.text
            after = balances(server, [buyer["id"], operator, authority, exchange])
            assert [a - b for a, b in zip(after, before, strict=True)] == \
                [-unit * qty] + [p["amount_fen"] for p in quote["payees"]]
            lic = r.json()["license"]
            if offer is sub:
                assert lic["max_queries"] == 100 * qty and abs(lic["epsilon_left"] - 1.0 * qty) < 1e-9
                days = (lic["valid_until"][:10], lic["valid_from"][:10])
                assert days[0] > days[1]
            else:
                assert lic["max_queries"] == qty and lic["unit_price_fen"] == unit


def test_price_cap_and_refusals_write_nothing(server: Server) -> None:
    product = listed_product(server)
    with server.client("authority") as a:
        r = a.put(f"/products/{product['id']}/price-cap", json={"cap_fen": 500})
        assert r.status_code == 200 and r.json()["chain"]["state"] == "confirmed", r.text
    offers = count(server, "offers")
    with server.client("operator") as op:
        r = op.post(f"/products/{product['id']}/offers", json=offer_body("metered", [(1, 501), (10, 400)]))
        assert r.status_code == 409 and r.json()["error"] == "PriceAboveCap", r.text
        assert "unitPrice=501" in r.json()["detail"] and "cap=500" in r.json()["detail"]
        r = op.post(f"/products/{product['id']}/offers",
                    json=offer_body("one_off", [(1, 100)], split={"operator": 9000, "exchange": 999}))
        assert r.status_code == 409 and r.json()["error"] == "BasisPointsNotExact"
        r = op.post(f"/products/{product['id']}/offers", json=offer_body("metered", [(2, 100)]))
        assert r.status_code == 422 and r.json()["field"] == "tiers[0].min_quantity"
        r = op.post(f"/products/{product['id']}/offers", json=offer_body("one_off", []))
        assert r.status_code == 422 and "tiers" in r.json()["detail"]
    with server.client("operator2") as other:
        r = other.post(f"/products/{product['id']}/offers", json=offer_body("one_off", [(1, 100)]))
        assert r.status_code == 403
    assert count(server, "offers") == offers
    offer = make_offer(server, product, "one_off", [(1, 500)])
    poor = new_account(server, fen=499)
    orders, licenses = count(server, "orders"), count(server, "licenses")
    with server.client(key=poor["api_key"]) as c:
        r = buy(c, offer["id"])
        assert r.status_code == 409 and r.json()["error"] == "ERC20InsufficientBalance", r.text
        assert "needed=500" in r.json()["detail"] and "balance=499" in r.json()["detail"]
        r = buy(c, offer["id"], 2)
        assert r.status_code == 422 and r.json()["field"] == "quantity"
        r = buy(c, "00000000-0000-4000-8000-000000000000")
        assert r.status_code == 422 and r.json()["field"] == "offer_id"
    with server.client("exchange") as ex:
        assert ex.post(f"/products/{product['id']}/suspend", json={"reason": "check"}).status_code == 200
    rich = new_account(server, fen=10_000)
    with server.client(key=rich["api_key"]) as c:
        r = buy(c, offer["id"])
        assert r.status_code == 409 and r.json()["error"] == "ProductNotTradable", r.text
    with server.client("operator") as op:
        assert op.post(f"/offers/{offer['id']}/withdraw").status_code == 200
    with server.client("exchange") as ex:
        assert ex.post(f"/products/{product['id']}/relist", json={"reason": "ok"}).status_code == 200
    with server.client(key=rich["api_key"]) as c:
        r = buy(c, offer["id"])
        assert r.status_code == 409 and r.json()["error"] == "OfferInactive"
    older = make_offer(server, listed_product(server), "metered", [(1, 1_001), (10, 450)])
    with server.client("authority") as a:  # a cap set after the offer was published binds its purchases too
        r = a.put(f"/products/{older['product_id']}/price-cap", json={"cap_fen": 500})
        assert r.status_code == 200 and r.json()["chain"]["state"] == "confirmed", r.text
    with server.client(key=rich["api_key"]) as c:
        r = buy(c, older["id"])
        assert r.status_code == 409 and r.json()["error"] == "PriceAboveCap", r.text
        assert "unitPrice=1001" in r.json()["detail"] and "cap=500" in r.json()["detail"]
    assert (count(server, "orders"), count(server, "licenses")) == (orders, licenses)
    assert server.ledger.balance_of(rich["address"]) == 10_000


def test_a_form_cap_in_its_trial_period_is_refused_by_the_api_first(server: Server) -> None:
    older = make_offer(server, listed_product(server), "metered", [(1, 300), (10, 200)])  # before the rule
    item = make_offer(server, {"id": older["product_id"]}, "one_off", [(1, 900)])
    t = now(server.ledger)  # the chain's time (tests elsewhere move it ahead of the clock)
    with server.client("authority") as a:
        r = a.put(f"/products/{older['product_id']}/price-caps/metered",
                  json={"cap_fen": 250, "effective_from": t, "trial_cap_fen": 200, "trial_until": t + 3600})
        assert r.status_code == 200 and r.json()["chain"]["state"] == "confirmed", r.text
        assert r.json()["cap_now_fen"] == 200
        assert [x["kind"] for x in a.get(f"/products/{older['product_id']}/price-caps").json()] == ["metered"]
    assert server.ledger.cap_of(older["product_id"], 1) == 200  # the chain agrees
    buyer = new_account(server, fen=10_000)
    orders, records = count(server, "orders"), count(server, "ledger_records")
    with server.client(key=buyer["api_key"]) as c:
        q = c.get(f"/products/{older['product_id']}/quote", params={"offer_id": older["id"], "quantity": 1})
        assert q.status_code == 200 and q.json()["cap_fen"] == 200, q.text
        r = buy(c, older["id"])
        assert r.status_code == 409 and r.json()["error"] == "PriceAboveCap", r.text
        assert "unitPrice=300" in r.json()["detail"] and "cap=200" in r.json()["detail"]
        assert (count(server, "orders"), count(server, "ledger_records")) == (orders, records)
        assert server.ledger.balance_of(buyer["address"]) == 10_000
        assert buy(c, older["id"], 10).status_code == 201  # the 200 tier is within the trial cap
        assert buy(c, item["id"]).status_code == 201  # another form is unaffected
