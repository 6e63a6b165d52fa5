"""Chain outage mid-purchase (Anvil stopped, then restarted) and 50 concurrent retries of one purchase."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ledger.runtime import ChainConfig, ChainRuntime
from tests.utils.server import Server, start_server
from tests.utils.trading import buy, count, listed_product, make_offer, new_account


def wait_paid(server: Server, api_key: str, order_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with server.client(key=api_key) as c:
        while True:
            order = c.get(f"/orders/{order_id}").json()
            if order["state"] != "pending":
                return dict(order)
            assert time.monotonic() < deadline, f"order still pending: {order}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def own_chain(tmp_path_factory: pytest.TempPathFactory, build_cache: Path) -> Iterator[tuple[ChainRuntime, Server]]:
    """A chain of its own (so stopping it harms no other test) and an API server on it."""
    home = tmp_path_factory.mktemp("outage-chain")
    rt = ChainRuntime(ChainConfig(home=home, persist_state=True, build_cache=build_cache)).start()
    try:  # the chain stops even when the server fails to start
        assert rt.deployer is not None
        server, _ = start_server("sqlite", rt, rt.deployer, tmp_path_factory.mktemp("outage-api"))
        try:
            yield rt, server
        finally:
            server.proc.terminate()
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
    finally:
        rt.stop()


def test_chain_down_mid_purchase_then_retried_once(own_chain: tuple[ChainRuntime, Server]) -> None:
    rt, server = own_chain
    assert rt.anvil is not None
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 1234)])
    buyer = new_account(server, fen=10_000)
    key = str(uuid.uuid4())
    rt.anvil.stop()  # graceful: Anvil dumps its state and reloads it on start
    try:
        with server.client(key=buyer["api_key"]) as c:
            r = buy(c, offer["id"], key=key)
            assert r.status_code == 202, r.text
            order = r.json()["order"]
            assert order["state"] == "pending" and r.json()["license"] is None
            again = buy(c, offer["id"], key=key)
            assert again.status_code == 202 and again.json()["order"]["id"] == order["id"]
            time.sleep(1.0)  # the dispatcher retries and keeps failing while the chain is down
            assert c.get(f"/orders/{order['id']}").json()["state"] == "pending"
            assert count(server, "licenses", "id=:i", i=order["license_id"]) == 0
    finally:
        rt.anvil.start()
    paid = wait_paid(server, buyer["api_key"], order["id"])
    assert paid["state"] == "paid" and paid["amount_fen"] == 1234
    assert server.ledger.balance_of(buyer["address"]) == 10_000 - 1234
    assert count(server, "licenses", "order_id=:o", o=order["id"]) == 1
    chain_lic = server.ledger.license(order["license_id"])
    assert chain_lic is not None and chain_lic.amount == 1234

    # A crash after the chain took the payment but before the database recorded it: the order is
    # pending again with no license row. The retry adopts the chain's license and pays nothing more.
    with server.db().begin() as conn:
        conn.execute(sa.text("DELETE FROM buyer_budgets WHERE buyer_id=:b"), {"b": buyer["id"]})
        conn.execute(sa.text("DELETE FROM licenses WHERE id=:i"), {"i": order["license_id"]})
        conn.execute(sa.text("UPDATE orders SET state='pending', tx_hash=NULL WHERE id=:o"), {"o": order["id"]})
        conn.execute(sa.text("UPDATE chain_tx SET state='pending' WHERE subject_id=:o"), {"o": order["id"]})
    adopted = wait_paid(server, buyer["api_key"], order["id"])
    assert adopted["state"] == "paid" and adopted["chain"]["tx_hash"] == paid["chain"]["tx_hash"]
    assert server.ledger.balance_of(buyer["address"]) == 10_000 - 1234
    assert count(server, "licenses", "order_id=:o", o=order["id"]) == 1


def test_fifty_concurrent_retries_one_license_one_payment(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "metered", [(1, 7)])
    buyer = new_account(server, fen=10_000)
    key = str(uuid.uuid4())
    orders, licenses = count(server, "orders"), count(server, "licenses")

    def attempt(_: int) -> httpx.Response:
        with server.client(key=buyer["api_key"]) as c:
            return buy(c, offer["id"], 100, key=key)

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(attempt, range(50)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409} and 201 in codes, codes
    busy = [r.json()["error"] for r in responses if r.status_code == 409]
    assert set(busy) <= {"idempotency_key_busy"}, busy
    assert len({r.json()["order"]["id"] for r in responses if r.status_code == 201}) == 1
    assert count(server, "orders") == orders + 1 and count(server, "licenses") == licenses + 1
    assert server.ledger.balance_of(buyer["address"]) == 10_000 - 700
    with server.client(key=buyer["api_key"]) as c:
        replay = buy(c, offer["id"], 100, key=key)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert server.ledger.balance_of(buyer["address"]) == 10_000 - 700
