"""The public charge schedule: listed products' public prices and caps, for anyone, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from tests.utils.server import Server
from tests.utils.trading import listed_product, make_offer


def _all(server: Server, **params: Any) -> list[dict[str, Any]]:
    out, cursor = [], 0
    while True:
        page = httpx.get(f"{server.url}/charge-schedule", params={"limit": 2, "cursor": cursor, **params}).json()
        out += page["products"]
        if page["next_cursor"] is None:
            return out
        cursor = int(page["next_cursor"])


def test_the_schedule_shows_listed_prices_and_caps_to_anyone(server: Server) -> None:
    product, hidden = listed_product(server), listed_product(server)
    with server.client("authority") as a:
        assert a.put(f"/products/{product['id']}/price-cap", json={"cap_fen": 900}).is_success
    offer = make_offer(server, product, "metered", [(1, 800), (100, 600)])
    gone = make_offer(server, product, "one_off", [(1, 500)])
    make_offer(server, product, "negotiable", [], basis="negotiated")  # one buyer's business: not shown
    with server.client("operator") as op:
        assert op.post(f"/offers/{gone['id']}/withdraw").is_success
    with server.client("exchange") as ex:
        assert ex.post(f"/products/{hidden['id']}/suspend", json={"reason": "check"}).is_success
    rows = {p["code"]: p for p in _all(server)}  # no API key at all, a page of two at a time
    assert hidden["code"] not in rows
    shown = rows[product["code"]]
    assert shown["price_cap_fen"] == 900 and [o["offer_id"] for o in shown["offers"]] == [offer["id"]]
    assert shown["offers"][0]["tiers"] == [{"min_quantity": 1, "unit_price_fen": 800},
                                           {"min_quantity": 100, "unit_price_fen": 600}]
    page = httpx.get(f"{server.url}/charge-schedule", params={"limit": 500, "format": "csv"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/csv")
    lines = [r for r in csv.DictReader(io.StringIO(page.text)) if r["code"] == product["code"]]
    assert [(r["unit_price_fen"], r["price_cap_fen"]) for r in lines] == [("800", "900"), ("600", "900")]
    for bad in ({"limit": 0}, {"limit": 501}, {"cursor": -1}, {"format": "xml"}, {"sector": "DROP TABLE"}):
        r = httpx.get(f"{server.url}/charge-schedule", params=bad)
        assert r.status_code == 422 and r.json()["error"], (bad, r.text)
