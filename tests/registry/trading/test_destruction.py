"""Destruction confirmation: only after a license ends, only by its holder, once; the trace shows what is open."""

from __future__ import annotations

from tests.utils.server import Server
from tests.utils.trading import buy, listed_product, make_offer, new_account


def test_destruction_is_confirmed_after_the_license_ends(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 100)], refund_window_seconds=600)
    buyer = new_account(server, fen=1_000)
    other = new_account(server)
    with server.client(key=buyer["api_key"]) as c:
        r = buy(c, offer["id"])
        assert r.status_code == 201, r.text
        lic = r.json()["license"]["id"]
        early = c.post(f"/licenses/{lic}/destruction", json={"statement": "deleted"})
        assert early.status_code == 409 and "still valid" in early.json()["detail"]
        assert c.post(f"/licenses/{lic}/refund").status_code == 200  # the license ends
    with server.client("auditor") as a:
        assert lic in a.get(f"/audit/products/{product['id']}/trace").json()["open_destructions"]
    with server.client(key=other["api_key"]) as c:
        assert c.post(f"/licenses/{lic}/destruction", json={"statement": "x"}).status_code == 403
    with server.client(key=buyer["api_key"]) as c:
        assert c.post(f"/licenses/{lic}/destruction", json={"statement": ""}).status_code == 422
        r = c.post(f"/licenses/{lic}/destruction", json={"statement": "all results deleted"})
        assert r.status_code == 201, r.text
        seq = r.json()["record_seq"]
        again = c.post(f"/licenses/{lic}/destruction", json={"statement": "again"})
        assert again.status_code == 409
    with server.client("auditor") as a:
        trace = a.get(f"/audit/products/{product['id']}/trace").json()
        record = a.get(f"/ledger/records/{seq}").json()["record"]
    assert lic not in trace["open_destructions"]
    steps = [s for s in trace["steps"] if s["kind"] == "destruction.confirmed"]
    assert len(steps) == 1 and steps[0]["stage"] == "destruction" and steps[0]["detail"]["license_id"] == lic
    assert record["kind"] == "destruction.confirmed" and record["actor"] == buyer["id"]
