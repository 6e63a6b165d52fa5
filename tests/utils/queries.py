"""Query set-ups: synthetic provider data, real provider nodes started with `provex provider serve`, registered
by their provider accounts, listed products served by them, licenses bought through trading, queries."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ledger.anvil import free_port
from tests.utils.builders import make_authorization, make_product, make_resource
from tests.utils.common import repo_root
from tests.utils.server import VENV_BIN, Server

REGIONS = ["north", "south", "east", "west"]
COLUMNS: list[dict[str, Any]] = [
    {"name": "region", "type": "string", "group_by": True, "domain": REGIONS},
    {"name": "level", "type": "integer", "min": 1, "max": 3, "group_by": True, "domain": ["1", "2", "3"]},
    {"name": "age", "type": "integer", "min": 0, "max": 99},
    {"name": "income", "type": "number", "min": 0, "max": 1000},
]
ALL_COLUMNS = [c["name"] for c in COLUMNS]
ALL_KINDS = ["count", "sum", "avg", "var", "stddev", "histogram"]


@dataclass
class Node:
    node_id: str
    data: Path
    port: int
    proc: subprocess.Popen[bytes]
    public_key: str = ""
    policy_hash: str | None = None  # of the signed policy the node loaded, as it reports it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class QueryEnv:
    server: Server
    nodes: dict[str, Node] = field(default_factory=dict)
    provider_keys: dict[str, str] = field(default_factory=dict)  # node id -> provider API key
    provider_ids: dict[str, str] = field(default_factory=dict)   # node id -> provider account id


def write_data(path: Path, rows: int, seed: int) -> Path:
    """Synthetic rows within the declared bounds; incomes have two decimals, some are NULL."""
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["region", "level", "age", "income"])
        for _ in range(rows):
            income = "" if rng.random() < 0.1 else f"{rng.randint(0, 99999) / 100:.2f}"
            w.writerow([rng.choice(REGIONS), rng.randint(1, 3), rng.randint(0, 99), income])
    return path


def start_nodes(server: Server, files: dict[str, Path], workdir: Path,
                coordinator_key: str | None = None, ports: dict[str, int] | None = None) -> dict[str, Node]:
    """`provex provider serve --exchange <api>` per file (or `--coordinator-key`), on the given or free ports,
    with the policy in its key folder if there is one; waits until each answers GET /identity."""
    trust = ["--coordinator-key", coordinator_key] if coordinator_key else ["--exchange", server.url]
    nodes: dict[str, Node] = {}
    for node_id, data in files.items():
        port = (ports or {}).get(node_id) or free_port()
        proc = subprocess.Popen([str(VENV_BIN / "provex"), "provider", "serve", "--data", str(data), "--id", node_id,
                                 "--port", str(port), "--key-dir", str(workdir / f"keys-{node_id}"),
                                 *trust],
                                cwd=repo_root(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        nodes[node_id] = Node(node_id, data, port, proc)
    deadline = time.monotonic() + 60
    try:
        for node in nodes.values():
            assert node.proc.stdout is not None
            info = json.loads(node.proc.stdout.readline() or b"{}")
            node.public_key, node.policy_hash = info["public_key"], info.get("policy_hash")
            while True:
                try:
                    if httpx.get(node.url + "/identity", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or node.proc.poll() is not None:
                    raise RuntimeError(f"provider node {node.node_id} did not start")
                time.sleep(0.05)
    except BaseException:
        for node in nodes.values():
            node.kill()
        raise
    return nodes


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
                max_queries: int = 1000) -> dict[str, Any]:
    """Through trading's routes: the operator publishes a one-off offer, the (funded) buyer buys it."""
    terms = {"purposes": ["statistics"], "query_kinds": kinds or ALL_KINDS, "columns": columns or ALL_COLUMNS,
             "max_queries": max_queries, "epsilon": epsilon, "delta": delta}
    with env.server.client("operator") as op:
        r = op.post(f"/products/{product['id']}/offers", json={
            "kind": "one_off", "basis": "cost", "tiers": [{"min_quantity": 1, "unit_price_fen": 100}],
            "split": {"operator": 10_000}, "terms": terms})
        assert r.status_code == 201, r.text
        offer_id = r.json()["id"]
    wait_offer_on_chain(env, offer_id)
    with env.server.client("buyer") as buyer:
        r = buyer.post("/orders", json={"offer_id": offer_id})
        assert r.status_code == 201, r.text
        lic: dict[str, Any] = r.json()["license"]
    return lic


def license_state(env: QueryEnv, license_id: str) -> dict[str, Any]:
    with env.server.client("buyer") as buyer:
        r = buyer.get(f"/licenses/{license_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())


def query(env: QueryEnv, license_id: str, sql: str, **extra: Any) -> httpx.Response:
    with env.server.client("buyer") as buyer:
        return buyer.post("/queries", json={"license_id": license_id, "sql": sql, **extra})
