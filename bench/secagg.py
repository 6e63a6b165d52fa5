"""Secure aggregation vs plain summation, in-process and over HTTP, plus an end-to-end query.

    .venv/bin/python bench/secagg.py [--quick]

In-process: the real Coordinator and ProviderSecAgg code (signatures, X25519, Shamir, AES-GCM,
AES-CTR masks) with a function-call transport; "setup" is the per-session key rounds,
"query" the two per-query rounds (masked input + unmask), and plain is summing the same
integer vectors. HTTP: real provider processes (``bench/plain_node.py``: the production node
plus a bench-only ``POST /bench/plain``); plain is one signed fan-out round over the same
coordinator transport in which each node returns its unmasked local vector (the same DuckDB
computation the protocol masks) and the vectors are summed here. Secure-over-HTTP times amortise
key setup over the session's pool of slots (see privacy/README.md for why that is safe). Last
line: JSON.
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
from privacy.sql import parse_query  # noqa: E402
from tests.privacy.cluster import start_cluster  # noqa: E402

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
    fields = {"plan": plan.to_dict(), "plan_hash": plan.hash(), "noise": no_noise(plan).to_dict()}
    replies, failed = await coord.secagg.fanout(coord.order, PLAIN_ROUTE, PLAIN_REQ, lambda n: fields)
    if failed:
        raise RuntimeError(f"plain mode failed: {failed}")
    total = [0] * plan.vector_length()
    for reply in replies.values():
        total = [a + b for a, b in zip(total, unpack(str(reply["vector"])), strict=True)]
    return total


def in_process(n: int, d: int, reps: int) -> dict[str, float]:
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
    t = n // 2 + 1
    out: dict[str, float] = {}

    async def go() -> None:
        times_full, times_query = [], []
        for _ in range(reps):
            coord = Coordinator(key, eps, threshold=t, pool=1, transport=transport,
                                max_rows_per_provider=1 << 20)
            t0 = time.perf_counter()
            res = await coord.run(plan, exact, min_group_size=0)
            times_full.append(time.perf_counter() - t0)
            expect = [sum(col) for col in zip(*vectors, strict=True)]
            got = [g.values["count(*)"] for g in res.groups]
            assert got == expect, "secure sum mismatch"
        coord = Coordinator(key, eps, threshold=t, pool=reps + 1, transport=transport,
                            max_rows_per_provider=1 << 20)
        await coord.run(plan, exact, min_group_size=0)
        for _ in range(reps):
            t0 = time.perf_counter()
            await coord.run(plan, exact, min_group_size=0)
            times_query.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(reps):
            [sum(col) for col in zip(*vectors, strict=True)]
        plain = (time.perf_counter() - t0) / reps
        out.update(secure_full_s=statistics.median(times_full),
                   secure_query_s=statistics.median(times_query), plain_s=plain,
                   ratio_full=statistics.median(times_full) / plain,
                   ratio_query=statistics.median(times_query) / plain)

    asyncio.run(go())
    return out


def write_http_data(path: Path, rows: int, dmax: int) -> Path:
    duckdb.sql(
        f"COPY (SELECT CAST(floor(random() * {dmax}) AS BIGINT) AS g, "
        f"CAST(floor(random() * 100) AS BIGINT) AS x FROM range({rows})) "
        f"TO '{path}' (FORMAT parquet)"
    )
    return path


def http_bench(n: int, ds: list[int], reps: int, work: Path) -> dict[str, dict[str, float]]:
    key = Ed25519PrivateKey.generate()
    files = [write_http_data(work / f"h{n}-{i}.parquet", 2000, max(ds)) for i in range(n)]
    cluster = start_cluster(files, work / f"hc{n}", public_key_hex(key), program=PLAIN_NODE)
    results: dict[str, dict[str, float]] = {}
    try:
        coord = Coordinator(key, cluster.endpoints(), threshold=n // 2 + 1, pool=64,
                            timeout=60)

        async def go() -> None:
            for d in ds:
                plan = vector_plan(d)
                exact = no_noise(plan)
                first = await coord.run(plan, exact, min_group_size=0)  # warm (may set up)
                plain_total = await run_plain(coord, plan)
                assert [g.values["count(*)"] for g in first.groups] == plain_total
                ts, tp = [], []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    await run_plain(coord, plan)
                    tp.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    await coord.run(plan, exact, min_group_size=0)
                    ts.append(time.perf_counter() - t0)
                s, p = statistics.median(ts), statistics.median(tp)
                results[f"d={d}"] = {"secure_s": s, "plain_s": p, "ratio": s / p}
            await coord.aclose()

        asyncio.run(go())
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
    try:
        coord = Coordinator(key, cluster.endpoints(), threshold=3, pool=8, timeout=60)

        async def go() -> tuple[float, float]:
            t0 = time.perf_counter()
            await coord.run(plan, no_noise(plan))
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            await coord.run(plan, no_noise(plan))
            warm = time.perf_counter() - t0
            await coord.aclose()
            return cold, warm

        cold, warm = asyncio.run(go())
    finally:
        cluster.stop()
    return {"rows_per_provider": rows, "providers": 5, "with_key_setup_s": cold,
            "amortized_s": warm}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    grid = [(3, 1), (3, 1000), (10, 1), (10, 1000), (30, 1000), (100, 10_000)]
    if not a.quick:  # quick mode skips these; say so in the report
        grid += [(3, 100_000), (10, 100_000), (30, 1), (100, 1), (100, 1000), (30, 100_000),
                 (100, 100_000)]
    report: dict[str, Any] = {"quick": a.quick, "in_process": {}, "http": {}}
    report["in_process_skipped_in_quick_mode"] = a.quick
    reps = 1 if a.quick else 5
    for n, d in grid:
        r = in_process(n, d, 1 if (n >= 30 and d >= 10_000) or d >= 100_000 else reps)
        report["in_process"][f"n={n},d={d}"] = r
        print(f"in-process n={n:>3} d={d:>6}: full {r['secure_full_s']:.3f}s "
              f"query {r['secure_query_s']:.3f}s plain {r['plain_s']:.5f}s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in (3, 10):
            report["http"][f"n={n}"] = res = http_bench(n, [1, 1000, 100_000], 2 if a.quick else 9, work)
            for d, r in res.items():
                print(f"http n={n:>2} {d:>9}: secure {r['secure_s']:.4f}s "
                      f"plain {r['plain_s']:.4f}s ratio {r['ratio']:.2f}", flush=True)
        rows = 200_000 if a.quick else 1_000_000
        report["e2e_group_by"] = r = e2e(rows, work)
        note = " (quick mode: fewer rows than the 1M target)" if a.quick else ""
        print(f"e2e 5 x {rows} rows GROUP BY: {r['amortized_s']:.3f}s amortized, "
              f"{r['with_key_setup_s']:.3f}s with key setup{note}", flush=True)
    print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()
