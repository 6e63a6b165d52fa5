"""Checked unmasking against real nodes, one of which misbehaves (tests/privacy/faulty_node.py).

A corrupted unmask share is detected and its node named; the result is exact when a spare share
remains, refused (nothing released) when exactly t shares are there. A node answering 500 refuses
the query with its reason. An exact query with a node down is refused before anything is unmasked.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator
from privacy.errors import IntegrityCheckFailed, NotEnoughProviders, ProviderRefused
from privacy.result import AggregateResult
from privacy.secagg.crypto import public_key_hex
from privacy.sql import parse_query
from tests.privacy.cluster import ROOT, Cluster, start_cluster
from tests.privacy.conftest import COLUMNS, union_sql, write_provider_data

SQL = "SELECT COUNT(*) AS n, SUM(score) AS s, region FROM t WHERE age > 5 GROUP BY region"
FAULTY = str(ROOT / "tests" / "privacy" / "faulty_node.py")


def faulty_cluster(tmp: Path, key: Ed25519PrivateKey, n: int, fault: str, at: int = 1) -> Cluster:
    files = [write_provider_data(tmp / f"f{i}.csv", 60 + 7 * i, seed=40 + i) for i in range(n)]
    return start_cluster(files, tmp, public_key_hex(key), programs={at: (FAULTY, "--fault", fault)})


def run(cluster: Cluster, key: Ed25519PrivateKey, threshold: int) -> AggregateResult:
    coord = Coordinator(key, cluster.endpoints(), threshold=threshold, timeout=10)
    plan = parse_query(SQL, COLUMNS)
    return coord.run_sync(plan, no_noise(plan), min_group_size=0)


def assert_exact(result: AggregateResult, files: list[Path]) -> None:
    rows = duckdb.sql(f"SELECT region, COUNT(*), SUM(score) FROM {union_sql(files)} WHERE age > 5 "
                      "GROUP BY region").fetchall()
    want = {r[0]: (r[1], r[2]) for r in rows}
    assert {g.key["region"]: (g.values["n"], g.values["s"]) for g in result.groups} == want


@pytest.mark.parametrize(("n", "t"), [(5, 3), (4, 3)])
def test_corrupted_share_detected_named_and_left_out(
    tmp_path: Path, coord_key: Ed25519PrivateKey, n: int, t: int
) -> None:
    """n - t spare shares: 2 (the shares' consistency finds p1), 1 (the check lanes find it)."""
    cluster = faulty_cluster(tmp_path, coord_key, n, "corrupt-share")
    try:
        result = run(cluster, coord_key, t)
    finally:
        cluster.stop()
    assert list(result.failures) == ["p1"] and "disagree" in result.failures["p1"]
    assert result.participants == [f"p{i}" for i in range(n)]  # p1's input is in; its shares are not
    assert_exact(result, [node.data for node in cluster.nodes])


def test_corrupted_share_with_exactly_t_refused(tmp_path: Path, coord_key: Ed25519PrivateKey) -> None:
    """No spare share: the check lanes catch the bad total, which is never released."""
    cluster = faulty_cluster(tmp_path, coord_key, 3, "corrupt-share")
    try:
        with pytest.raises(IntegrityCheckFailed) as info:
            run(cluster, coord_key, 3)
    finally:
        cluster.stop()
    assert "p1" in info.value.detail and "no total was released" in info.value.detail


def test_node_answering_500_refuses_with_reason(tmp_path: Path, coord_key: Ed25519PrivateKey) -> None:
    cluster = faulty_cluster(tmp_path, coord_key, 3, "error-500", at=2)
    try:
        with pytest.raises(ProviderRefused) as info:
            run(cluster, coord_key, 2)
    finally:
        cluster.stop()
    assert list(info.value.nodes) == ["p2"]
    assert "input round" in info.value.nodes["p2"] and "500" in info.value.nodes["p2"]
    assert info.value.code == "provider_refused" and "p2" in info.value.detail


def test_exact_query_with_a_node_down_refused(small_cluster: Cluster, coord_key: Ed25519PrivateKey) -> None:
    small_cluster.nodes[2].kill()
    with pytest.raises(NotEnoughProviders) as info:
        run(small_cluster, coord_key, 2)
    assert "every provider" in info.value.detail and "nothing was unmasked" in info.value.detail
