"""A provider process killed at each round: exact while >= t remain, clear refusal below."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator
from privacy.errors import NotEnoughProviders
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster
from tests.privacy.conftest import COLUMNS, union_sql

SQL = "SELECT COUNT(*) AS n, SUM(score) AS s, HISTOGRAM(age, 0, 100, 4) AS h, region FROM t " \
      "WHERE age > 5 GROUP BY region"
ROUNDS = ["before", "advertise", "share", "input", "unmask"]


def expected(files: list[Path]) -> dict[str, tuple[int, int]]:
    rows = duckdb.sql(
        f"SELECT region, COUNT(*), SUM(score) FROM {union_sql(files)} WHERE age > 5 "
        "GROUP BY region"
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def run_with_kills(
    cluster: Cluster, key: Ed25519PrivateKey, victims: list[int], at: str
) -> Any:
    def hook(name: str) -> None:
        if name == at:
            for v in victims:
                cluster.nodes[v].kill()

    if at == "before":
        hook("before")
    coord = Coordinator(key, cluster.endpoints(), threshold=2, timeout=5, on_round=hook)
    plan = parse_query(SQL, COLUMNS)
    return coord.run_sync(plan, no_noise(plan), min_group_size=0, require_all=False)


@pytest.mark.parametrize("at", ROUNDS)
def test_one_provider_killed_result_exact(
    small_cluster: Cluster, coord_key: Ed25519PrivateKey, at: str
) -> None:
    result = run_with_kills(small_cluster, coord_key, [1], at)
    by_id = {n.id: n for n in small_cluster.nodes}
    if at == "unmask":  # p1 sent its masked input, then vanished: its data is in the sum
        assert result.participants == ["p0", "p1", "p2"]
    else:
        assert result.participants == ["p0", "p2"] and result.dropped == ["p1"]
    ref = expected([by_id[p].data for p in result.participants])
    for g in result.groups:
        n, s = ref[g.key["region"]]
        assert (g.values["n"], g.values["s"]) == (n, s)
        assert sum(g.values["h"]) == n


@pytest.mark.parametrize("at", ROUNDS)
def test_below_threshold_refused(
    small_cluster: Cluster, coord_key: Ed25519PrivateKey, at: str
) -> None:
    with pytest.raises(NotEnoughProviders) as info:
        run_with_kills(small_cluster, coord_key, [1, 2], at)
    assert "threshold is 2" in info.value.detail
    assert "not" in info.value.detail and "revealed" in info.value.detail


def test_dropout_between_queries_of_one_session(
    small_cluster: Cluster, coord_key: Ed25519PrivateKey
) -> None:
    """Keys were set up with all three; p2 vanishes before the next query's input round."""
    coord = Coordinator(coord_key, small_cluster.endpoints(), threshold=2, timeout=5, pool=4)
    plan = parse_query(SQL, COLUMNS)

    async def go() -> list[Any]:
        first = await coord.run(plan, no_noise(plan), min_group_size=0, require_all=False)
        small_cluster.nodes[2].kill()
        second = await coord.run(plan, no_noise(plan), min_group_size=0, require_all=False)
        third = await coord.run(plan, no_noise(plan), min_group_size=0, require_all=False)  # fresh, 2 nodes
        await coord.aclose()
        return [first, second, third]

    first, second, third = asyncio.run(go())
    files = [n.data for n in small_cluster.nodes]
    assert first.participants == ["p0", "p1", "p2"]
    assert second.participants == third.participants == ["p0", "p1"]
    for res, ref in ((first, expected(files)), (second, expected(files[:2])),
                     (third, expected(files[:2]))):
        for g in res.groups:
            assert (g.values["n"], g.values["s"]) == ref[g.key["region"]]
