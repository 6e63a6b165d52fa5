"""Suppression of every released cell, and the differencing control of exact answers, through real nodes.

The issue's three bypasses on an exact product: (a) two queries differing by one `meter_id != …`
filter, (b) a 1000-bin HISTOGRAM over a 12-row group, (c) AVG over a group with one non-NULL value.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator
from privacy.disclosure import exact_plan, run_exact_sync
from privacy.errors import ComputeRefused, DisclosureRefused, ProviderRefused, QueryError
from privacy.plan import ColumnSpec
from privacy.provider.local import LocalData
from privacy.secagg.crypto import public_key_hex
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster, start_cluster

M = 10
METERS = [f"m{i:02d}" for i in range(53)]
BASE = [
    ColumnSpec("district", "category", domain=["a", "b", "c"]),
    ColumnSpec("kwh", "float", 0, 100, decimals=2),
    ColumnSpec("load", "int", 0, 10),
]
WITH_METERS = [*BASE, ColumnSpec("meter_id", "category", domain=METERS)]
NO_METERS = [*BASE, ColumnSpec("meter_id", "category")]


def write(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["district", "meter_id", "kwh", "load"])
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Ed25519PrivateKey]]:
    """District a: 12 rows, one meter each, distinct readings (6 per node); b: 30 rows (2 nodes);
    c: 11 rows, only one with a reading. Every district has at least M rows."""
    d = tmp_path_factory.mktemp("disclosure")
    rows = [("a", METERS[i], f"{7.5 * i + 1.25:.2f}", str(i % 10)) for i in range(12)]
    rows += [("b", METERS[12 + i], f"{i * 3.1:.2f}", str(i % 10)) for i in range(30)]
    rows += [("c", METERS[42 + i], "42.42" if i == 0 else "", str(i % 10)) for i in range(11)]
    files = [write(d / "p0.csv", rows[0::2]), write(d / "p1.csv", rows[1::2])]
    key = Ed25519PrivateKey.generate()
    cluster = start_cluster(files, d, public_key_hex(key))
    yield cluster, key
    cluster.stop()


@pytest.fixture
def coordinator(nodes: tuple[Cluster, Ed25519PrivateKey]) -> Coordinator:
    cluster, key = nodes
    return Coordinator(key, cluster.endpoints(), threshold=2, min_group_size=M)


def exact(coordinator: Coordinator, sql: str, columns: list[ColumnSpec]) -> dict[str, dict[str, object]]:
    plan = exact_plan(parse_query(sql, columns), columns)
    result = run_exact_sync(coordinator, plan, M, "q")
    return {str(g.key.get("district", "")): g.values for g in result.groups}


def test_every_cell_below_min_group_size_is_suppressed(coordinator: Coordinator) -> None:
    """(b) and (c) on a plain run: each bin and each statistic over non-NULL values has its own count."""
    plan = parse_query("SELECT COUNT(*) AS n, COUNT(kwh) AS c, SUM(kwh) AS s, AVG(kwh) AS a, STDDEV(kwh) AS sd, "
                       "HISTOGRAM(kwh, 0, 100, 1000) AS h, HISTOGRAM(kwh, 0, 100, 2) AS h2 FROM data "
                       "GROUP BY district", NO_METERS)
    result = coordinator.run_sync(plan, no_noise(plan))
    g = {str(x.key["district"]): x for x in result.groups}
    assert not any(x.suppressed for x in g.values())
    assert g["c"].values == {"n": 11, "c": None, "s": None, "a": None, "sd": None, "h": None,
                             "h2": None}  # (c): one non-NULL value shows nowhere
    assert g["a"].values["n"] == 12 and g["a"].values["h"] == [None] * 1000  # (b): one row per bin
    # a: 7 readings below 50, 5 above: both bins shown; b: 17 and 13 -> shown
    assert g["a"].values["h2"] == [None, None] and sum(g["b"].values["h2"]) == 30  # type: ignore[arg-type]
    assert g["b"].values["a"] == pytest.approx(sum(i * 3.1 for i in range(30)) / 30)
    assert g["a"].ci95["n"] == [12, 12] and g["a"].se["n"] == 0.0


def test_histogram_hides_a_small_remainder(coordinator: Coordinator) -> None:
    """District a over 2 bins: 1 reading in the first, 11 clipped into the second. Hiding the 1 alone
    would leave it derivable as COUNT(kwh) − 11, so the 11 is hidden too."""
    plan = parse_query("SELECT COUNT(kwh) AS c, HISTOGRAM(kwh, 0, 3, 2) AS h, HISTOGRAM(kwh, 0, 100, 1) AS one "
                       "FROM data WHERE district = 'a'", NO_METERS)
    (g,) = coordinator.run_sync(plan, no_noise(plan)).groups
    assert g.values == {"c": 12, "h": [None, None], "one": [12]}


def test_exact_filter_on_a_column_without_public_domain_is_refused() -> None:
    """(a) with meter_id private: the filter itself is refused, before anything runs."""
    sql = "SELECT SUM(load) AS s FROM data WHERE meter_id != 'm03'"
    with pytest.raises(QueryError) as e:
        exact_plan(parse_query(sql, NO_METERS), NO_METERS)
    assert e.value.token == "meter_id" and "public domain" in e.value.reason
    with pytest.raises(QueryError) as e:
        exact_plan(parse_query("SELECT COUNT(*) FROM data WHERE load > 3", NO_METERS), NO_METERS)
    assert e.value.token == "load"


def test_exact_differencing_is_refused_by_the_atom_check(coordinator: Coordinator) -> None:
    """(a) with meter_id public: every meter is a 1-row cell of the public partition, so neither the
    query nor its one-meter difference is answered; (b) and (c) likewise on the exact path."""
    for sql in ("SELECT SUM(load) AS s FROM data", "SELECT SUM(load) AS s FROM data WHERE meter_id != 'm03'"):
        with pytest.raises(DisclosureRefused):
            exact(coordinator, sql, WITH_METERS)
    with pytest.raises(DisclosureRefused):  # (c): district c has one non-NULL kwh
        exact(coordinator, "SELECT AVG(kwh) AS a FROM data GROUP BY district", NO_METERS)
    with pytest.raises(DisclosureRefused):  # (b): 512 dyadic bins over 12 rows
        exact(coordinator, "SELECT HISTOGRAM(load, 0, 10, 512) AS h FROM data WHERE district = 'a'", NO_METERS)
    with pytest.raises(QueryError):  # (b): bins must be dyadic on the column's bounds
        exact_plan(parse_query("SELECT HISTOGRAM(load, 0, 10, 1000) FROM data", NO_METERS), NO_METERS)


def test_exact_answer_over_safe_cells_is_released(coordinator: Coordinator) -> None:
    """District cells of 12, 30 and 11 rows, all loads present: released, and equal to the plain run."""
    got = exact(coordinator, "SELECT COUNT(*) AS n, SUM(load) AS s FROM data WHERE district != 'c' "
                             "GROUP BY district", NO_METERS)
    assert got["a"] == {"n": 12, "s": sum(i % 10 for i in range(12))}
    assert got["b"] == {"n": 30, "s": sum(i % 10 for i in range(30))}
    assert got["c"] == {"n": None, "s": None}  # filtered out: 0 rows, below M, suppressed


def test_node_compute_error_is_a_refusal_and_the_node_keeps_answering(coordinator: Coordinator) -> None:
    """A plan DuckDB cannot run on the node's data (an integer domain over a text column) is refused
    with a 4xx by every node (never a 500), reported as a refusal naming
    each node; the next query is answered by the same connections."""
    wrong = [ColumnSpec("district", "category", domain=[1, 2]), *BASE[1:]]
    bad = parse_query("SELECT COUNT(*) FROM data WHERE district = 1", wrong)
    with pytest.raises(ProviderRefused, match="provider_compute_refused"):
        coordinator.run_sync(bad, no_noise(bad))
    declared_numeric = parse_query("SELECT SUM(district) FROM data", [ColumnSpec("district", "int", 0, 9)])
    with pytest.raises(ProviderRefused, match="declared numeric"):
        coordinator.run_sync(declared_numeric, no_noise(declared_numeric))
    good = parse_query("SELECT COUNT(*) AS n FROM data", NO_METERS)
    assert coordinator.run_sync(good, no_noise(good)).groups[0].values == {"n": 53}


def test_local_compute_errors_are_refusals(nodes: tuple[Cluster, Ed25519PrivateKey]) -> None:
    """What each node did above, on its own data layer: ComputeRefused (the node's 400), then it answers."""
    local = LocalData(nodes[0].nodes[0].data)
    bad = parse_query("SELECT COUNT(*) FROM data WHERE district = 1",
                      [ColumnSpec("district", "category", domain=[1, 2])])
    with pytest.raises(ComputeRefused, match="could not compute"):
        local.compute(bad, [1])
    with pytest.raises(ComputeRefused, match="declared numeric"):
        local.compute(parse_query("SELECT SUM(district) FROM data", [ColumnSpec("district", "int", 0, 9)]), [1, 1, 1])
    good = parse_query("SELECT COUNT(*) AS n FROM data", NO_METERS)
    assert local.compute(good, [1]) == [27]
