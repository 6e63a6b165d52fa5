"""Secure aggregation vs plain summation: in-process, the API path over HTTP, and an end-to-end query.

    .venv/bin/python bench/secagg.py [--quick] [--big]

In-process: the real Coordinator and ProviderSecAgg code (signatures, X25519, Shamir, AES-GCM,
AES-CTR masks) with a function-call transport, every provider's work on this one core; "full" is a
query that sets up keys first, "query" one that reuses a cached session, "per_query" the average
over one session's life (one setup per ``QUERIES_PER_SESSION`` queries); from 50 providers both the
complete and the sparse masking graph are measured. Plain is summing the same integer vectors.

API path: real provider processes (``bench/plain_node.py``: the production node plus a bench-only
``POST /bench/plain``). Queries arrive one by one, and each is what ``POST /queries`` does: a new
``Coordinator`` sharing the process-wide kind of :class:`SessionCache` (so key setup happens once per
session and its cost is in the mean), its own event loop and HTTP client (``run_sync``). Plain is one
signed fan-out round over the same transport in which each node returns its unmasked local vector
(the same DuckDB computation the protocol masks), also with a new client per query. ``--big`` adds
the API path at n = 100, d = 10,000 (100 node processes). Last line: JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from plain_node import PLAIN_REQ, PLAIN_ROUTE, unpack  # noqa: E402

from privacy.calibrate import no_noise  # noqa: E402
from privacy.coordinator import Coordinator, ProviderEndpoint  # noqa: E402
from privacy.errors import PrivacyError  # noqa: E402
from privacy.plan import ColumnSpec, Plan  # noqa: E402
from privacy.secagg.crypto import public_key_hex  # noqa: E402
from privacy.secagg.provider import ProviderSecAgg  # noqa: E402
from privacy.secagg.sessions import QUERIES_PER_SESSION, SessionCache  # noqa: E402
from privacy.sql import parse_query  # noqa: E402
from tests.privacy.cluster import Cluster, start_cluster  # noqa: E402

PLAIN_NODE = (str(ROOT / "bench" / "plain_node.py"),)


def vector_plan(d: int) -> Plan:
    """A plan whose vector has exactly d lanes: COUNT(*) grouped by a d-value domain."""
    if d == 1:
        return parse_query("SELECT COUNT(*) FROM t", [ColumnSpec("g", "int", 0, 0)])
    cols = [ColumnSpec("g", "int", 0, d - 1, domain=list(range(d)))]
    return parse_query("SELECT COUNT(*), g FROM t GROUP BY g", cols)


async def run_plain(coord: Coordinator, plan: Plan) -> list[int]:
    """The baseline: one signed round in which every node returns its unmasked local vector
    (``plain_node.py``), verified like a protocol reply and summed here."""
    fields = {"plan_hash": plan.hash(), "noise": no_noise(plan).to_dict()}
    replies, dropped, refused = await coord.secagg.fanout(coord.order, PLAIN_ROUTE, PLAIN_REQ, lambda n: fields,
                                                          {"plan": plan.to_dict()})
    if dropped or refused:
        raise RuntimeError(f"plain mode failed: {dropped} {refused}")
    total = [0] * plan.vector_length()
    for reply in replies.values():
        total = [a + b for a, b in zip(total, unpack(str(reply["vector"])), strict=True)]
    return total


def in_process(n: int, d: int, reps: int, degree: int | str | None = "auto") -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    rng = random.Random(n * 7 + d)
    vectors = [[rng.randrange(1000) for _ in range(d)] for _ in range(n)]
    nodes: dict[str, ProviderSecAgg] = {}
    eps = []
    for i in range(n):
        ident = Ed25519PrivateKey.generate()
        vec = vectors[i]
        nodes[f"p{i}"] = ProviderSecAgg(f"p{i}", ident, key.public_key(), lambda p, u, v=vec: v)
        eps.append(ProviderEndpoint(f"p{i}", "inproc", public_key_hex(ident)))

    async def transport(node: str, path: str, env: dict[str, Any]) -> tuple[int, Any]:
        try:
            return 200, nodes[node].rounds()[path](env)
        except PrivacyError as e:
            return 409, e.to_dict()

    plan = vector_plan(d)
    exact = no_noise(plan)
    expect = [sum(col) for col in zip(*vectors, strict=True)]
    cache = SessionCache()

    def coordinator(sessions: SessionCache) -> Coordinator:
        return Coordinator(key, eps, threshold=n // 2 + 1, transport=transport, sessions=sessions,
                           max_rows_per_provider=1 << 20, degree=degree)  # type: ignore[arg-type]

    async def timed(sessions: SessionCache) -> float:
        t0 = time.perf_counter()
        res = await coordinator(sessions).run(plan, exact, min_group_size=0)
        elapsed = time.perf_counter() - t0
        assert [g.values["count(*)"] for g in res.groups] == expect, "secure sum mismatch"
        return elapsed

    async def go() -> tuple[list[float], list[float]]:
        full = [await timed(SessionCache()) for _ in range(reps)]
        await timed(cache)
        return full, [await timed(cache) for _ in range(reps)]

    times_full, times_query = asyncio.run(go())
    assert cache.setups == 1
    t0 = time.perf_counter()
    for _ in range(reps):
        [sum(col) for col in zip(*vectors, strict=True)]
    plain = (time.perf_counter() - t0) / reps
    full, query = statistics.median(times_full), statistics.median(times_query)
    per_query = (full + (QUERIES_PER_SESSION - 1) * query) / QUERIES_PER_SESSION
    return {"secure_full_s": full, "secure_query_s": query, "secure_per_query_s": per_query,
            "plain_s": plain, "ratio_per_query": per_query / plain}


def write_http_data(path: Path, rows: int, dmax: int) -> Path:
    duckdb.sql(
        f"COPY (SELECT CAST(floor(random() * {dmax}) AS BIGINT) AS g, "
        f"CAST(floor(random() * 100) AS BIGINT) AS x FROM range({rows})) "
        f"TO '{path}' (FORMAT parquet)"
    )
    return path


def api_query(key: Ed25519PrivateKey, cluster: Cluster, plan: Plan, cache: SessionCache) -> list[int]:
    """One query as ``POST /queries`` runs it: a new coordinator sharing the session cache."""
    n = len(cluster.nodes)
    coord = Coordinator(key, cluster.endpoints(), threshold=n // 2 + 1, timeout=120, sessions=cache)
    result = coord.run_sync(plan, no_noise(plan), min_group_size=0)
    return [g.values["count(*)"] for g in result.groups]


def plain_query(key: Ed25519PrivateKey, cluster: Cluster, plan: Plan) -> list[int]:
    """The baseline the same way: a new coordinator, event loop and HTTP client per query."""
    coord = Coordinator(key, cluster.endpoints(), threshold=len(cluster.nodes) // 2 + 1, timeout=120)

    async def go() -> list[int]:
        try:
            return await run_plain(coord, plan)
        finally:
            await coord.aclose()

    return asyncio.run(go())


def api_path(n: int, ds: list[int], queries: int, work: Path) -> dict[str, dict[str, float]]:
    """Per-query cost of queries arriving one by one through the API's path, next to plain."""
    key = Ed25519PrivateKey.generate()
    files = [write_http_data(work / f"h{n}-{i}.parquet", 2000, max(ds)) for i in range(n)]
    cluster = start_cluster(files, work / f"hc{n}", public_key_hex(key), program=PLAIN_NODE,
                            timeout=60 + 3 * n)
    results: dict[str, dict[str, float]] = {}
    try:
        for d in ds:
            plan, cache = vector_plan(d), SessionCache()
            ts, tp = [], []
            for _ in range(queries):
                t0 = time.perf_counter()
                got = api_query(key, cluster, plan, cache)
                ts.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                want = plain_query(key, cluster, plan)
                tp.append(time.perf_counter() - t0)
                assert got == want, "secure sum differs from plain"
            results[f"d={d}"] = {
                "queries": queries, "key_setups": cache.setups,
                "secure_mean_s": statistics.mean(ts), "secure_median_s": statistics.median(ts),
                "secure_max_s": max(ts), "plain_mean_s": statistics.mean(tp),
                "plain_median_s": statistics.median(tp),
                "ratio_mean": statistics.mean(ts) / statistics.mean(tp),
            }
    finally:
        cluster.stop()
    return results


def e2e(rows: int, work: Path) -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    files = []
    for i in range(5):
        f = work / f"e2e-{i}.parquet"
        duckdb.sql(
            f"COPY (SELECT (['north','south','east','west'])[1 + (i % 4)::INT] AS region, "
            f"CAST(random() * 99 AS BIGINT) AS age, round(random() * 1000, 2) AS income "
            f"FROM range({rows}) t(i)) TO '{f}' (FORMAT parquet)"
        )
        files.append(f)
    cluster = start_cluster(files, work / "e2e", public_key_hex(key))
    cols = [ColumnSpec("region", "category", domain=["north", "south", "east", "west"]),
            ColumnSpec("age", "int", 0, 99), ColumnSpec("income", "float", 0, 1000)]
    plan = parse_query("SELECT COUNT(*), AVG(income), STDDEV(age), region FROM t "
                       "WHERE age BETWEEN 18 AND 65 GROUP BY region", cols)
    cache = SessionCache()
    try:
        times = []
        for _ in range(2):  # two queries through the API path: the first sets up keys
            coord = Coordinator(key, cluster.endpoints(), threshold=3, timeout=60, sessions=cache)
            t0 = time.perf_counter()
            coord.run_sync(plan, no_noise(plan))
            times.append(time.perf_counter() - t0)
    finally:
        cluster.stop()
    return {"rows_per_provider": rows, "providers": 5, "with_key_setup_s": times[0],
            "session_reused_s": times[1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--big", action="store_true", help="also the API path at n=100, d=10,000")
    a = ap.parse_args()
    grid = [(3, 1), (3, 1000), (10, 1), (10, 1000), (30, 1000), (100, 10_000)]
    if not a.quick:  # quick mode skips these; say so in the report
        grid += [(3, 100_000), (10, 100_000), (100, 1000), (100, 100_000)]
    report: dict[str, Any] = {"quick": a.quick, "queries_per_session": QUERIES_PER_SESSION,
                              "in_process": {}, "api_path": {}}
    reps = 1 if a.quick else 3
    for n, d in grid:
        for degree in ("auto", None) if n >= 50 else ("auto",):
            r = in_process(n, d, 1 if n * d >= 1_000_000 else reps, degree)
            graph = "complete" if degree is None or n < 50 else "sparse"
            report["in_process"][f"n={n},d={d},{graph}"] = r
            print(f"in-process n={n:>3} d={d:>6} {graph:>8}: full {r['secure_full_s']:.3f}s "
                  f"query {r['secure_query_s']:.3f}s per query {r['secure_per_query_s']:.3f}s "
                  f"plain {r['plain_s']:.5f}s", flush=True)
    api_grid = [(3, [1000]), (10, [1, 1000, 10_000])] + ([(100, [10_000])] if a.big else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n, ds in api_grid:
            queries = 8 if a.quick or n >= 100 else 2 * QUERIES_PER_SESSION
            report["api_path"][f"n={n}"] = res = api_path(n, ds, queries, work)
            for d, r in res.items():
                print(f"api path n={n:>3} {d:>8}: secure mean {r['secure_mean_s']:.4f}s "
                      f"(median {r['secure_median_s']:.4f}s, max {r['secure_max_s']:.3f}s, "
                      f"{r['key_setups']} key setups / {r['queries']} queries) "
                      f"plain mean {r['plain_mean_s']:.4f}s ratio {r['ratio_mean']:.2f}", flush=True)
        rows = 200_000 if a.quick else 1_000_000
        report["e2e_group_by"] = r = e2e(rows, work)
        note = " (quick mode: fewer rows than the 1M target)" if a.quick else ""
        print(f"e2e 5 x {rows} rows GROUP BY: {r['session_reused_s']:.3f}s with a reused session, "
              f"{r['with_key_setup_s']:.3f}s with key setup{note}", flush=True)
    print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()
