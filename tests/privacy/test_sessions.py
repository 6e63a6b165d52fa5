"""Key-setup sessions shared across queries (as the API's coordinators share them), and the sparse
masking graph from 50 providers."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator, ProviderEndpoint
from privacy.errors import PrivacyError, ProviderRefused
from privacy.plan import ColumnSpec
from privacy.secagg.coordinator import CoordinatorSecAgg
from privacy.secagg.crypto import public_key_hex
from privacy.secagg.graph import min_degree
from privacy.secagg.provider import ProviderSecAgg
from privacy.secagg.sessions import SessionCache
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster
from tests.privacy.conftest import COLUMNS

SQL = "SELECT COUNT(*) AS n, SUM(score) AS s, region FROM t GROUP BY region"


def one_query(cluster: Cluster, key: Ed25519PrivateKey, cache: SessionCache,
              endpoints: list[ProviderEndpoint] | None = None) -> tuple[list[str], Any]:
    """A fresh coordinator per query, as the API builds one; the rounds it ran and the values."""
    rounds: list[str] = []
    coord = Coordinator(key, endpoints or cluster.endpoints(), threshold=3, sessions=cache,
                        on_round=rounds.append)
    plan = parse_query(SQL, COLUMNS)
    result = coord.run_sync(plan, no_noise(plan), min_group_size=0)
    return rounds, [g.values for g in result.groups]


FULL = ["advertise", "share", "input", "unmask"]


def test_second_query_skips_key_rounds_until_the_session_expires(
    cluster: Cluster, coord_key: Ed25519PrivateKey
) -> None:
    cache = SessionCache(max_age=2.0, max_queries=3)
    first, values = one_query(cluster, coord_key, cache)
    second, again = one_query(cluster, coord_key, cache)
    assert (first, second, again) == (FULL, ["input", "unmask"], values)
    assert (cache.setups, cache.reuses) == (1, 1)
    assert one_query(cluster, coord_key, cache)[0] == ["input", "unmask"]  # third and last slot
    assert one_query(cluster, coord_key, cache)[0] == FULL  # slots used up: a new session
    time.sleep(2.1)
    assert one_query(cluster, coord_key, cache) == (FULL, values)  # too old: a new session
    assert cache.setups == 3


def test_changed_registration_gets_a_new_session(cluster: Cluster, coord_key: Ed25519PrivateKey) -> None:
    cache = SessionCache(max_age=60, max_queries=8)
    assert one_query(cluster, coord_key, cache)[0] == FULL
    moved = [n.endpoint(f"http://localhost:{n.port}") if i == 0 else n.endpoint()
             for i, n in enumerate(cluster.nodes)]
    assert one_query(cluster, coord_key, cache, moved)[0] == FULL
    assert one_query(cluster, coord_key, cache, moved)[0] == ["input", "unmask"]


def test_concurrent_queries_never_share_a_slot(cluster: Cluster, coord_key: Ed25519PrivateKey) -> None:
    cache = SessionCache(max_age=60, max_queries=4)
    _, values = one_query(cluster, coord_key, cache)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: one_query(cluster, coord_key, cache), range(8)))
    assert all(v == values for _, v in results)
    assert cache.reuses >= 1 and cache.setups >= 2


# ------------------------------------------------------------------------- sparse graph

def in_process(n: int, vectors: list[list[int]], gone: set[str]) -> tuple[Ed25519PrivateKey, dict[str, Any], Any]:
    """n real protocol halves called in-process; nodes in ``gone`` vanish after key setup."""
    key = Ed25519PrivateKey.generate()
    nodes: dict[str, ProviderSecAgg] = {}
    for i in range(n):
        ident = Ed25519PrivateKey.generate()
        nodes[f"p{i}"] = ProviderSecAgg(f"p{i}", ident, key.public_key(), lambda p, u, v=vectors[i]: v)

    async def transport(node: str, path: str, env: dict[str, Any]) -> tuple[int, Any]:
        if node in gone and path in ("/secagg/input", "/secagg/unmask"):
            raise OSError("connection refused")
        try:
            return 200, nodes[node].rounds()[path](env)
        except PrivacyError as e:
            return 409, e.to_dict()

    return key, nodes, transport


def test_sparse_graph_sums_right_with_dropouts() -> None:
    n, d = 60, 3
    vectors = [[i, 2 * i + 1, 1] for i in range(n)]
    gone = {"p3", "p17", "p41"}
    key, nodes, transport = in_process(n, vectors, gone)
    eps = [ProviderEndpoint(f"p{i}", "inproc", public_key_hex(nodes[f"p{i}"].identity)) for i in range(n)]
    coord = Coordinator(key, eps, threshold=n // 2 + 1, pool=1, transport=transport,
                        max_rows_per_provider=1 << 10)
    cols = [ColumnSpec("g", "int", 0, d - 1, domain=list(range(d)))]
    plan = parse_query("SELECT COUNT(*), g FROM t GROUP BY g", cols)
    result = asyncio.run(coord.run(plan, no_noise(plan), min_group_size=0, require_all=False))
    kept = [v for i, v in enumerate(vectors) if f"p{i}" not in gone]
    assert [g.values["count(*)"] for g in result.groups] == [sum(c) for c in zip(*kept, strict=True)]
    assert sorted(result.dropped) == sorted(gone)
    graph = coord.secagg.session.graph if coord.secagg.session else {}
    degrees = [len(graph[u]) for u in graph]
    assert min(degrees) >= coord.secagg.degree and max(degrees) < n - 1  # sparse, every node >= k
    assert nodes["p0"].sessions[coord.secagg.session.sid].graph == graph  # both halves agree


def test_node_refuses_a_graph_too_sparse() -> None:
    n = 60
    key, nodes, transport = in_process(n, [[0]] * n, set())
    ids = {f"p{i}": public_key_hex(nodes[f"p{i}"].identity) for i in range(n)}
    sec = CoordinatorSecAgg(key, ids, n // 2 + 1, transport, pool=1, degree=min_degree(n) - 1)
    with pytest.raises(ProviderRefused) as info:
        asyncio.run(sec.setup({}))
    assert len(info.value.nodes) == n and "degree must be at least" in info.value.nodes["p0"]
