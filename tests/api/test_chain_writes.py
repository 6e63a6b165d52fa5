"""Issue 19 probes on chain writes: a transaction sent by the relaying key outside the API puts the API's nonce
out of step, and the next write re-reads the pending nonce and succeeds (never a 500 `nonce too low`);
release works as soon as the refund window has passed by the clock (no block mined in between), for
every payee, a provider included."""

from __future__ import annotations

import time

import sqlalchemy as sa
from eth_account import Account

from tests.utils.builders import resource_body
from tests.utils.server import Server
from tests.utils.trading import balances, buy, listed_product, make_offer, mint, new_account


def test_deployer_write_after_an_outside_transaction(server: Server) -> None:
    buyer = new_account(server)
    mint(server, buyer["id"], 5)  # the API now caches the deployer's next nonce
    deployer = Account.from_key(server.env["PROVEX_DEPLOYER_KEY"])
    for _ in range(2):  # the same key, outside the API
        server.ledger.client.fund(deployer, Account.create().address, 1)
    with server.client("exchange") as c:
        r = c.post("/dev/mint", json={"account_id": buyer["id"], "amount_fen": 7})
    assert r.status_code == 200, r.text
    assert r.json()["balance_fen"] == 12


def test_participant_write_after_its_own_transaction(server: Server) -> None:
    """The participant's own key (never the exchange's: the database holds addresses only) sends a transaction
    of its own between two relayed acts; forwarder nonces are not transaction nonces, so nothing breaks."""
    with server.db().connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("accounts")}
    assert "keyfile" not in columns and "address" in columns
    with server.client("authority") as c:
        assert c.post("/resources", json=resource_body()).status_code == 201
    server.ledger.client.fund(server.accounts["authority"], Account.create().address, 1)
    with server.client("authority") as c:
        r = c.post("/resources", json=resource_body())
        assert r.status_code == 201, r.text
        assert r.json()["chain_state"] == "confirmed", r.json()


def test_provider_payee_releases_as_soon_as_the_window_has_passed(server: Server) -> None:
    product = listed_product(server)
    split = {"providers": [{"account_id": server.ids["provider"], "bps": 1000}], "operator": 7000,
             "authority": 1000, "exchange": 1000}
    offer = make_offer(server, product, "one_off", [(1, 1000)], refund_window_seconds=8, split=split)
    buyer = new_account(server, fen=5_000)
    with server.client(key=buyer["api_key"]) as c:
        r = buy(c, offer["id"])
        assert r.status_code == 201, r.text
        lic = r.json()["license"]
    payees = [p["account_id"] for p in offer["payees"]]
    before = balances(server, payees)
    with server.client("provider") as c:
        assert c.get(f"/licenses/{lic['id']}").status_code == 200  # a payee sees what pays it
        r = c.post(f"/licenses/{lic['id']}/release")
        if r.status_code != 200:  # inside the window (a loaded machine may already be past it)
            assert r.status_code == 409 and r.json()["error"] == "RefundWindowOpen", r.text
            time.sleep(max(0.0, lic["refundable_until"] - time.time()) + 0.5)
            r = c.post(f"/licenses/{lic['id']}/release")  # no other block mined meanwhile
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "paid"
    gained = [a - b for a, b in zip(balances(server, payees), before, strict=True)]
    assert sorted(gained) == sorted([100, 700, 100, 100])
    with server.client("buyer") as c:  # another buyer still sees nothing of it
        assert c.post(f"/licenses/{lic['id']}/release").status_code == 404
