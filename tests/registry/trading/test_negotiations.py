"""Negotiation: requested -> offered -> accepted -> agreed -> finalized, or terminated; turns and expiry."""

from __future__ import annotations

import time
from typing import Any

import httpx
import sqlalchemy as sa

from tests.utils.server import Server
from tests.utils.trading import balances, buy, count, listed_product, make_offer, new_account


def step(c: httpx.Client, nid: str, action: str, status: int = 200, **body: Any) -> dict[str, Any]:
    r = c.post(f"/negotiations/{nid}/{action}", json=body)
    assert r.status_code == status, r.text
    return dict(r.json())


def test_negotiated_license_end_to_end(server: Server) -> None:
    product = listed_product(server)
    base = make_offer(server, product, "negotiable", [], basis="negotiated")
    assert base["chain"]["state"] == "none"
    buyer = new_account(server, fen=100_000)
    stranger = new_account(server, fen=100_000)
    with server.client(key=buyer["api_key"]) as b, server.client("operator") as op, \
            server.client("operator2") as op2:
        r = b.post("/negotiations", json={"offer_id": base["id"], "kind": "metered", "quantity": 500,
                                          "unit_price_fen": 5, "message": "research use"})
        assert r.status_code == 201, r.text
        n = r.json()
        nid = n["id"]
        assert (n["state"], n["turn"]) == ("requested", "operator")
        # the buyer cannot answer its own request; another operator is not a party
        assert step(b, nid, "accept", 403)["error"] == "NotYourTurn"
        assert op2.post(f"/negotiations/{nid}/offer", json={"unit_price_fen": 9}).status_code == 404
        n = step(op, nid, "offer", unit_price_fen=9)
        assert (n["state"], n["turn"]) == ("offered", "buyer")
        assert step(op, nid, "offer", 403, unit_price_fen=8)["error"] == "NotYourTurn"
        n = step(b, nid, "request", unit_price_fen=7, message="meet in the middle")
        assert (n["state"], n["turn"]) == ("requested", "operator")
        n = step(op, nid, "offer", unit_price_fen=8)
        n = step(b, nid, "accept")
        assert (n["state"], n["turn"]) == ("accepted", "operator")
        assert step(b, nid, "accept", 403)["error"] == "NotYourTurn"
        n = step(op, nid, "agree")
        assert n["state"] == "agreed" and n["agreed_offer_id"]
        private = b.get(f"/offers/{n['agreed_offer_id']}").json()
        assert private["buyer_id"] == buyer["id"] and private["basis"] == "negotiated"
        assert private["tiers"] == [{"min_quantity": 1, "unit_price_fen": 8}]
        assert private["chain"]["state"] == "confirmed"
        assert [p["bps"] for p in private["payees"]] == [p["bps"] for p in base["payees"]]
        with server.client(key=stranger["api_key"]) as s:
            r = buy(s, private["id"], 500)
            assert r.status_code == 409 and r.json()["error"] == "NotOfferBuyer", r.text
            assert s.get(f"/offers/{private['id']}").status_code == 404
        r = buy(b, private["id"], 499)
        assert r.status_code == 422 and r.json()["field"] == "quantity"
        before = balances(server, [buyer["id"]])[0]
        r = buy(b, private["id"], 500)
        assert r.status_code == 201, r.text
        assert before - balances(server, [buyer["id"]])[0] == 4000
        assert r.json()["license"]["max_queries"] == 500
        n = b.get(f"/negotiations/{nid}").json()
        assert n["state"] == "finalized" and n["license_id"] == r.json()["license"]["id"]
        assert [(e["from_state"], e["to_state"]) for e in n["events"]] == [
            (None, "requested"), ("requested", "offered"), ("offered", "requested"), ("requested", "offered"),
            ("offered", "accepted"), ("accepted", "agreed"), ("agreed", "finalized")]
        assert step(b, nid, "terminate", 409)["error"] == "NegotiationFinalized"
        r = buy(b, private["id"], 500)
        assert r.status_code == 409
    with server.db().connect() as conn:
        kinds = [k for (k,) in conn.execute(sa.text(
            "SELECT kind FROM ledger_records WHERE subject=:p AND kind LIKE 'negotiation.%' ORDER BY seq"),
            {"p": product["id"]})]
    assert kinds == ["negotiation.requested", "negotiation.offered", "negotiation.requested", "negotiation.offered",
                     "negotiation.accepted", "negotiation.agreed", "negotiation.finalized"]


def test_termination_expiry_and_price_cap(server: Server) -> None:
    product = listed_product(server)
    base = make_offer(server, product, "one_off", [(1, 300)])
    buyer = new_account(server)
    with server.client(key=buyer["api_key"]) as b, server.client("operator") as op:
        nid = b.post("/negotiations", json={"offer_id": base["id"], "kind": "one_off"}).json()["id"]
        n = step(b, nid, "terminate", message="found another source")
        assert n["state"] == "terminated" and "buyer" in n["reason"]
        assert step(op, nid, "offer", 409, unit_price_fen=10)["error"] == "NegotiationTerminated"

        nid = b.post("/negotiations", json={"offer_id": base["id"], "kind": "one_off"}).json()["id"]
        with server.client("authority") as a:
            assert a.put(f"/products/{product['id']}/price-cap", json={"cap_fen": 1000}).status_code == 200
        events = count(server, "negotiation_events")
        assert step(op, nid, "offer", 409, unit_price_fen=1001)["error"] == "PriceAboveCap"
        assert count(server, "negotiation_events") == events
        step(op, nid, "offer", unit_price_fen=900, valid_for_seconds=1)
        time.sleep(1.3)
        r = step(b, nid, "accept", 409)
        assert r["error"] == "NegotiationExpired", r
        n = b.get(f"/negotiations/{nid}").json()
        assert n["state"] == "terminated" and n["reason"] == "expired"
        assert n["events"][-1]["to_state"] == "terminated" and n["events"][-1]["data"]["reason"] == "expired"
