"""Query set-ups: real provider nodes (`tests.utils.nodes`) registered by their provider accounts, listed
products served by them, licenses bought through trading, queries."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.utils.builders import make_authorization, make_product, make_resource
from tests.utils.nodes import COLUMNS, REGIONS, Node, start_nodes, write_data
from tests.utils.server import Server

__all__ = ["COLUMNS", "REGIONS", "Node", "start_nodes", "write_data"]

ALL_COLUMNS = [c["name"] for c in COLUMNS]
ALL_KINDS = ["count", "sum", "avg", "var", "stddev", "histogram", "quantile", "min", "max"]


@dataclass
class QueryEnv:
    server: Server
    nodes: dict[str, Node] = field(default_factory=dict)
    provider_keys: dict[str, str] = field(default_factory=dict)  # node id -> provider API key
    provider_ids: dict[str, str] = field(default_factory=dict)   # node id -> provider account id


def register_nodes(env: QueryEnv, nodes: dict[str, Node]) -> None:
    """One provider account per node (onboarded by the exchange), each registering its node."""
    for node in nodes.values():
        out = env.server.onboard("provider", f"provider {node.node_id}")
        env.provider_keys[node.node_id], env.provider_ids[node.node_id] = out["api_key"], out["id"]
    for node in nodes.values():
        with env.server.client(key=env.provider_keys[node.node_id]) as c:
            r = c.post("/providers/me/node", json={"node_id": node.node_id, "url": node.url,
                                                   "public_key": node.public_key, "policy_hash": node.policy_hash})
            assert r.status_code == 201, r.text
    env.nodes.update(nodes)


def listed_product(env: QueryEnv, node_ids: list[str], *, tags: list[str] | None = None,
                   policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """A listed product over `node_ids`' providers, from a resource with `tags`, with a query policy."""
    res = make_resource(env.server, sensitivity_tags=tags if tags is not None else [])
    authz = make_authorization(env.server, [res["id"]])
    product = make_product(env.server, authz, stage="listed", columns=COLUMNS,
                           sample=[{"region": "north", "level": 1, "age": 30, "income": 12.5}],
                           provider_ids=[env.provider_ids[n] for n in node_ids])
    if policy is not None:
        with env.server.client("operator") as op:
            r = op.put(f"/products/{product['id']}/query-policy", json=policy)
            assert r.status_code == 200, r.text
    return product


def union_sql(nodes: list[Node]) -> str:
    return "(" + " UNION ALL ".join(f"SELECT * FROM read_csv_auto('{n.data}')" for n in nodes) + ")"


def wait_offer_on_chain(env: QueryEnv, offer_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with env.server.client("operator") as op:
        while op.get(f"/offers/{offer_id}").json()["chain"]["state"] != "confirmed":
            assert time.monotonic() < deadline, "offer not on chain in time"
            time.sleep(0.1)


def buy_license(env: QueryEnv, product: dict[str, Any], *, columns: list[str] | None = None,
                kinds: list[str] | None = None, epsilon: float = 2.0, delta: float = 1e-4,
                max_queries: int = 1000, buyer_key: str | None = None,
                budget_window: str | None = None) -> dict[str, Any]:
    """Through trading's routes: the operator publishes a one-off offer, the (funded) buyer (or the holder of
    `buyer_key`) buys it."""
    terms = {"purposes": ["statistics"], "query_kinds": kinds or ALL_KINDS, "columns": columns or ALL_COLUMNS,
             "max_queries": max_queries, "epsilon": epsilon, "delta": delta, "budget_window": budget_window}
    with env.server.client("operator") as op:
        r = op.post(f"/products/{product['id']}/offers", json={
            "kind": "one_off", "basis": "cost", "tiers": [{"min_quantity": 1, "unit_price_fen": 100}],
            "split": {"operator": 10_000}, "terms": terms})
        assert r.status_code == 201, r.text
        offer_id = r.json()["id"]
    wait_offer_on_chain(env, offer_id)
    with env.server.client("buyer" if buyer_key is None else None, key=buyer_key) as buyer:
        r = buyer.post("/orders", json={"offer_id": offer_id})
        assert r.status_code == 201, r.text
        lic: dict[str, Any] = r.json()["license"]
    return lic


def license_state(env: QueryEnv, license_id: str) -> dict[str, Any]:
    with env.server.client("buyer") as buyer:
        r = buyer.get(f"/licenses/{license_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())


def query(env: QueryEnv, license_id: str, sql: str, buyer_key: str | None = None, **extra: Any) -> httpx.Response:
    with env.server.client("buyer" if buyer_key is None else None, key=buyer_key) as buyer:
        return buyer.post("/queries", json={"license_id": license_id, "sql": sql, **extra})
