"""Noise off: secure aggregation over real provider processes equals DuckDB on the union."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster
from tests.privacy.conftest import COLUMNS, union_sql

AGGS = {
    "count_star": ("COUNT(*) AS v", "COUNT(*)"),
    "count_col": ("COUNT(income) AS v", "COUNT(income)"),
    "sum_int": ("SUM(score) AS v", "SUM(score)"),
    "sum_float": ("SUM(income) AS v", "SUM(income)"),
    "avg": ("AVG(age) AS v", "AVG(age)"),
    "avg_float": ("AVG(income) AS v", "AVG(income)"),
    "var": ("VARIANCE(score) AS v", "VAR_SAMP(score)"),
    "stddev": ("STDDEV(age) AS v", "STDDEV_SAMP(age)"),
    "histogram": ("HISTOGRAM(age, 0, 100, 5) AS v", None),
}
WHERES = ["", "age BETWEEN 20 AND 60 AND (region IN ('north', 'east') OR score < 0)"]
GROUPS = [[], ["region"], ["region", "level"]]


def reference(files: list[Path], agg: str, where: str, group: list[str]) -> dict[tuple, Any]:
    src = union_sql(files)
    w = f"WHERE {where}" if where else ""
    gsel = "".join(f"{g}, " for g in group)
    gby = f"GROUP BY {', '.join(group)}" if group else ""
    if AGGS[agg][1] is None:  # histogram: 5 bins of width 20 over [0, 100)
        rows = duckdb.sql(
            f"SELECT {gsel} LEAST(CAST(FLOOR(age / 20) AS BIGINT), 4) AS b, COUNT(age) "
            f"FROM {src} {w} GROUP BY {gsel} b"
        ).fetchall()
        out: dict[tuple, Any] = {}
        for r in rows:
            out.setdefault(tuple(r[: len(group)]), [0] * 5)[r[len(group)]] = r[-1]
        return out
    rows = duckdb.sql(f"SELECT {gsel} {AGGS[agg][1]} FROM {src} {w} {gby}").fetchall()
    return {tuple(r[: len(group)]): r[-1] for r in rows}


def close(a: Any, b: Any) -> bool:
    if isinstance(b, float) or isinstance(a, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


@pytest.fixture(scope="module")
def coordinator(cluster: Cluster, coord_key: Ed25519PrivateKey) -> Coordinator:
    return Coordinator(coord_key, cluster.endpoints(), threshold=3, pool=16, timeout=20)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: "by_" + "_".join(g) if g else "total")
@pytest.mark.parametrize("where", WHERES, ids=["all", "where"])
@pytest.mark.parametrize("agg", list(AGGS))
def test_exact_equals_duckdb_union(
    coordinator: Coordinator, data_files: list[Path], agg: str, where: str, group: list[str]
) -> None:
    gsel = "".join(f", {g}" for g in group)
    sql = f"SELECT {AGGS[agg][0]}{gsel} FROM t"
    sql += f" WHERE {where}" if where else ""
    sql += f" GROUP BY {', '.join(group)}" if group else ""
    plan = parse_query(sql, COLUMNS)
    result = asyncio.run(_run(coordinator, plan))
    assert result.participants == ["p0", "p1", "p2", "p3"] and result.dropped == []
    assert not result.noised and result.epsilon == 0
    ref = reference(data_files, agg, where, group)
    assert len(result.groups) == len(plan.groups())
    for g in result.groups:
        key = tuple(g.key[c] for c in group)
        expected = ref.get(key)
        got = g.values["v"]
        if expected is None:  # group absent from the data
            assert g.count == 0
            continue
        assert close(got, expected), (key, got, expected)


async def _run(coordinator: Coordinator, plan: Any) -> Any:
    try:
        return await coordinator.run(plan, no_noise(plan), min_group_size=0)
    finally:
        await coordinator.aclose()


def test_small_groups_are_suppressed_and_marked(
    coordinator: Coordinator, data_files: list[Path]
) -> None:
    plan = parse_query(
        "SELECT COUNT(*) AS n, SUM(age) AS s, region FROM t WHERE age < 3 GROUP BY region",
        COLUMNS,
    )
    result = asyncio.run(_run_min(coordinator, plan, 10))
    ref = reference(data_files, "count_star", "age < 3", ["region"])
    for g in result.groups:
        n = ref.get((g.key["region"],), 0)
        assert g.suppressed == (n < 10)
        if g.suppressed:
            assert g.values == {"n": None, "s": None} and g.to_dict()["count"] is None
        else:
            assert g.values["n"] == n
    assert any(g.suppressed for g in result.groups)
    assert result.suppressed_groups == [g.key for g in result.groups if g.suppressed]


async def _run_min(coordinator: Coordinator, plan: Any, mg: int) -> Any:
    try:
        return await coordinator.run(plan, no_noise(plan), min_group_size=mg)
    finally:
        await coordinator.aclose()
