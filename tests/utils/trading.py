"""Build trading objects over HTTP: fresh buyers with test fen, listed products, offers, purchases; and
spend a license directly through the service the query side calls."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, select

from ledger.contracts import ProductStatus as ChainStatus
from registry.accounts import actor_of
from registry.actor import Actor
from registry.errors import RegistryError
from registry.models import Account
from registry.trading.licenses import authorize_and_spend
from tests.utils.builders import make_product
from tests.utils.server import Server

TERMS = {"purposes": ["agricultural statistics"], "query_kinds": ["count", "sum", "avg"],
         "columns": ["county", "yield_t"], "max_queries": 100, "epsilon": 1.0, "delta": 1e-6,
         "validity_days": 365}


def mint(server: Server, account_id: str, amount: int) -> None:
    with server.client("exchange") as c:
        r = c.post("/dev/mint", json={"account_id": account_id, "amount_fen": amount})
        assert r.status_code == 200, r.text


def new_account(server: Server, role: str = "buyer", fen: int = 0) -> dict[str, Any]:
    """A confirmed account (gas funded) holding `fen` test fen; has `api_key`, `id`, `address`."""
    acct = server.onboard(role, f"{role} {uuid.uuid4().hex[:6]}")
    deadline = time.monotonic() + 30
    with server.client(key=acct["api_key"]) as c:
        while c.get("/accounts/me").json()["chain_state"] != "confirmed":
            assert time.monotonic() < deadline, "account setup not confirmed"
            time.sleep(0.05)
    if fen:
        mint(server, acct["id"], fen)
    return acct


def address(server: Server, account_id: str) -> str:
    with server.client("exchange") as c:
        return str(c.get(f"/accounts/{account_id}").json()["address"])


def balances(server: Server, account_ids: list[str]) -> list[int]:
    return [server.ledger.balance_of(address(server, a)) for a in account_ids]


def listed_product(server: Server, **over: Any) -> dict[str, Any]:
    return make_product(server, stage="listed", **over)


def offer_body(kind: str = "one_off", tiers: list[tuple[int, int]] | None = None, *,
               split: dict[str, Any] | None = None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind, "basis": "cost",
        "tiers": [{"min_quantity": q, "unit_price_fen": p} for q, p in (tiers or [])],
        "split": split or {"operator": 7000, "authority": 2000, "exchange": 1000},
        "terms": dict(TERMS)}
    body.update(over)
    return body


def make_offer(server: Server, product: dict[str, Any], kind: str = "one_off",
               tiers: list[tuple[int, int]] | None = None, operator: str = "operator", **over: Any) -> dict[str, Any]:
    with server.client(operator) as op:
        r = op.post(f"/products/{product['id']}/offers", json=offer_body(kind, tiers, **over))
        assert r.status_code == 201, r.text
        assert r.json()["chain"]["state"] in ("confirmed", "none"), r.json()
        return dict(r.json())


def buy(client: httpx.Client, offer_id: str, quantity: int = 1, key: str | None = None,
        **extra: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/orders", json={"offer_id": offer_id, "quantity": quantity, **extra}, headers=headers)


def count(server: Server, table: str, where: str = "", **params: Any) -> int:
    with server.db().connect() as conn:
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return int(conn.execute(sa.text(sql), params).scalar_one())


def actor(server: Server, account_id: str) -> Actor:
    with Session(server.db()) as s:
        return actor_of(s.exec(select(Account).where(Account.id == account_id)).one())


def bought(server: Server, buyer: dict[str, Any], offer: dict[str, Any], qty: int = 1) -> dict[str, Any]:
    with server.client(key=buyer["api_key"]) as c:
        r = buy(c, offer["id"], qty)
        assert r.status_code == 201, r.text
        return dict(r.json()["license"])


def spend(server: Server, who: Actor, license_id: str, eps: float = 0.1, kinds: set[str] | None = None,
          columns: set[str] | None = None, at: datetime | None = None) -> str:
    """One authorize_and_spend (at time `at`, default now) in its own session and transaction; returns "ok" or
    the refusal code."""
    engine = server.db()
    try:
        with Session(engine) as s:
            authorize_and_spend(s, who, license_id, kinds=kinds or {"count"}, columns=columns or {"county"},
                                epsilon=eps, delta=0.0, at=at)
            s.commit()
            return "ok"
    except RegistryError as exc:
        return exc.code
    finally:
        engine.dispose()


def voucher_programme(server: Server, holder_ids: list[str], *, budget: int = 10**9, share_bps: int = 10_000,
                      sectors: list[str] | None = None, product_ids: list[str] | None = None,
                      starts_in: float = -60, lasts: float = 10**6) -> dict[str, Any]:
    """A voucher programme (on chain, confirmed) whose allow-list is `holder_ids`; spendable now by default."""
    now = datetime.now(UTC)
    body = {"name": f"programme {uuid.uuid4().hex[:6]}", "annual_budget_fen": budget, "max_share_bps": share_bps,
            "starts_at": (now + timedelta(seconds=starts_in)).isoformat(),
            "ends_at": (now + timedelta(seconds=starts_in + lasts)).isoformat(), "sectors": sectors or [],
            "product_ids": product_ids or [], "holder_ids": holder_ids}
    with server.client("authority") as a:
        r = a.post("/voucher-programmes", json=body)
    assert r.status_code == 201 and r.json()["chain"]["state"] == "confirmed", r.text
    return dict(r.json())


def sweep_suspends(server: Server, authz_id: str, product_id: str) -> None:
    """Once chain time passes the authorization's end, the exchange's sweep suspends its product, here and on chain."""
    server.ledger.client.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # time passes on chain
    with server.client("exchange") as c:
        r = c.post("/authorizations/sweep-expired")
        assert r.status_code == 200, r.text
        swept = {e["authorization"]["id"]: e["suspended_products"] for e in r.json()["expired"]}
        assert swept[authz_id] == [product_id]
    deadline = time.monotonic() + 30
    while server.ledger.product(product_id).status != ChainStatus.SUSPENDED:
        assert time.monotonic() < deadline, "suspendUnauthorized not sent"
        time.sleep(0.2)
