"""Verification calls (核验) per second through the API with real provider nodes, next to baselines measured in
the same run.

    .venv/bin/python bench/verify_calls.py [--calls N] [--nodes K] [--herders H]

A fresh Anvil, a real API server (SQLite, one worker), K real provider nodes (`provex provider serve`, each with
H herders in a CSV and its own signed policy allowing verification), a listed product offering verification and a
metered license. Measured, one call after another from one client (the buyer's requests signed with its own key,
as in production): `verify` is a whole verification call as `provex verify` makes it (fresh X25519 reply key,
`POST /verifications`: license, rate limit, one metered charge, the signed fan-out to every node, each node's
policy check and lookup in DuckDB, sealing; the ledger record; then opening and checking every node's signed
statement on the client); `get_license` is an authenticated `GET /licenses/{id}` (the cheapest authenticated
read); `count_query` is `POST /queries` with `SELECT COUNT(*) FROM data` (secure aggregation over the same nodes,
noised) under a one-off license. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.client import ProvexClient  # noqa: E402
from ledger.runtime import ChainConfig, ChainRuntime  # noqa: E402
from tests.utils.queries import QueryEnv, buy_license  # noqa: E402
from tests.utils.server import start_server, wait_confirmed  # noqa: E402
from tests.utils.verify import metered_license, start_herd_nodes, verification_product  # noqa: E402

BUILD_CACHE = ROOT / ".provex" / "build"
VERIFY = {"key": "herder_id", "per_minute": 10_000, "per_day": 1_000_000,
          "claims": [{"column": "head_count", "ops": [">=", "between"]}]}


def _rate(n: int, fn: Callable[[int], Any]) -> float:
    fn(0)  # warm-up: connections, caches
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def measure(calls: int = 100, nodes: int = 3, herders: int = 10_000) -> dict[str, Any]:
    """Calls per second of each kind, and verify's ratio to each baseline."""
    with tempfile.TemporaryDirectory(prefix="provex-bench-verify-") as home:
        tmp = Path(home)
        with ChainRuntime(ChainConfig(home=tmp / "chain", persist_state=False, build_cache=BUILD_CACHE)) as chain:
            assert chain.deployer is not None
            server, _ = start_server("sqlite", chain, chain.deployer, tmp / "api")
            env = QueryEnv(server)
            try:
                return _run(env, tmp, calls, nodes, herders)
            finally:
                for node in env.nodes.values():
                    node.kill()
                server.proc.terminate()
                server.proc.wait(10)


def _run(env: QueryEnv, tmp: Path, calls: int, nodes: int, herders: int) -> dict[str, Any]:
    server = env.server
    wait_confirmed(server, "buyer")
    wait_confirmed(server, "operator")
    with server.client("exchange") as ex:
        assert ex.post("/dev/mint", json={"account_id": server.ids["buyer"], "amount_fen": 10**9}).status_code == 200
    (tmp / "nodes").mkdir()
    started = start_herd_nodes(env, tmp / "nodes", nodes, herders, daily_limit=None)
    product = verification_product(env, started, VERIFY)
    lic = metered_license(env, product, calls + 10)
    with server.client("operator") as op:  # room for the baseline's queries on the buyer's product-wide budget
        r = op.put(f"/products/{product['id']}/budget-policy", json={"epsilon": 1000.0, "delta": 0.5})
        assert r.status_code == 200, r.text
    counting = buy_license(env, product, kinds=["count"], columns=["banner"], max_queries=calls + 10,
                           epsilon=1000.0, delta=1e-3)
    with ProvexClient(server.url, server.keys["buyer"], timeout=60, signer=server.accounts["buyer"]) as px:
        verify = _rate(calls, lambda i: px.verify_claim(lic["id"], f"H-{i % nodes}-{i % herders}",
                                                        "head_count >= 100"))
        get = _rate(calls, lambda i: px.license(lic["id"]))
        count = _rate(calls, lambda i: px.query(counting["id"], "SELECT COUNT(*) FROM data", epsilon=0.5))
        used = px.license(lic["id"])["queries_used"]
    assert used == calls + 1, used  # one charge per call (warm-up included)
    return {"nodes": nodes, "herders_per_node": herders, "calls": calls,
            "verify_per_s": round(verify, 2), "get_license_per_s": round(get, 2),
            "count_query_per_s": round(count, 2), "verify_vs_get_license": round(verify / get, 3),
            "verify_vs_count_query": round(verify / count, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100, help="calls of each kind")
    parser.add_argument("--nodes", type=int, default=3, help="provider nodes")
    parser.add_argument("--herders", type=int, default=10_000, help="herders (rows) per node")
    args = parser.parse_args()
    t0 = time.perf_counter()
    result = measure(args.calls, args.nodes, args.herders)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
