"""Quantiles, MIN and MAX through five real provider nodes against DuckDB over the union of the files.

Data from the reference test (NULLs, negatives, 6 decimals rounded at the declared 3, groups held by one
provider only). Noised cells must cover DuckDB's ``quantile_cont``/``min``/``max`` with their stated 95 %
interval at about that rate; exact cells give the bin(s) holding the true value; exact answers keep the
differencing control (the tree's finest bins are atoms).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import DPParams, calibrate, component_errors, no_noise
from privacy.coordinator import Coordinator
from privacy.disclosure import exact_plan, run_exact_sync
from privacy.errors import DisclosureRefused, PolicyRefused
from privacy.plan import QUANTILE_BINS
from privacy.provider.enforce import check_cells
from privacy.provider.local import LocalData
from privacy.result import AggregateResult
from privacy.secagg.crypto import public_key_hex
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster, start_cluster
from tests.privacy.test_reference import COLUMNS, write_file

FRACTIONS = {"lo": 0.0, "p10": 0.1, "p25": 0.25, "med": 0.5, "p75": 0.75, "p90": 0.9, "hi": 1.0}
BOUNDS = {"temp": (-40.0, 50.0), "n": (-100.0, 100.0)}
VALUE = {"temp": "ROUND(temp, 3)", "n": "n"}  # what the nodes bin: the value at the declared decimals
QUERIES = [("", "GROUP BY city, kind"), ("WHERE temp > -10.5 AND n != 3", "GROUP BY city, kind"),
           ("WHERE kind = 1 OR city IN ('北京', 'Zürich')", "GROUP BY city")]


def select() -> str:
    def agg(col: str, name: str, p: float) -> str:
        fn = "MIN(c)" if p == 0 else "MAX(c)" if p == 1 else "MEDIAN(c)" if p == 0.5 else f"QUANTILE(c, {p})"
        return fn.replace("c", col, 1) + f" AS {name}_{col}"
    return ", ".join(agg(col, name, p) for col in BOUNDS for name, p in FRACTIONS.items())


def reference(files: list[Path], where: str, group: str) -> dict[tuple[Any, ...], dict[str, float | None]]:
    src = " UNION ALL ".join(f"SELECT * FROM read_csv_auto('{f}')" for f in files)
    keys = [g.strip() for g in group.removeprefix("GROUP BY").split(",")]
    exprs = {f"{name}_{col}": (f"MIN({VALUE[col]})" if p == 0 else f"MAX({VALUE[col]})" if p == 1
                               else f"QUANTILE_CONT({VALUE[col]}, {p})")
             for col in BOUNDS for name, p in FRACTIONS.items()}
    rows = duckdb.sql(f"SELECT {', '.join(keys)}, {', '.join(exprs.values())} FROM ({src}) {where} {group}")
    return {tuple(r[: len(keys)]): dict(zip(exprs, r[len(keys):], strict=True)) for r in rows.fetchall()}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("quantile-data")
    return [write_file(d / f"p{i}.csv", 200 + 10 * i, seed=i) for i in range(5)]


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def five(files: list[Path], key: Ed25519PrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = start_cluster(files, tmp_path_factory.mktemp("quantile-five"), public_key_hex(key))
    yield c
    c.stop()


def run(coordinator: Coordinator, where: str, group: str, dp: DPParams | None) -> AggregateResult:
    plan = parse_query(f"SELECT {select()} FROM data {where} {group}", COLUMNS)
    return coordinator.run_sync(plan, calibrate(plan, dp) if dp else no_noise(plan), min_group_size=0)


def cells(result: AggregateResult, truth: dict[tuple[Any, ...], dict[str, float | None]]
          ) -> Iterator[tuple[str, Any, list[float], float, float]]:
    """(alias, value, ci95, se, truth) of every cell SQL has a value for (noised: unless the group's noisy
    count is not positive, as an AVG's)."""
    for g in result.groups:
        want = truth.get(tuple(g.key.values()))
        for alias, value in g.values.items():
            if want is not None and want[alias] is not None:
                assert value is not None or result.noised, (g.key, alias)
                if value is not None:
                    yield alias, value, g.ci95[alias], g.se[alias], float(want[alias])


def test_noised_quantiles_cover_duckdb_at_the_stated_rate(five: Cluster, files: list[Path],
                                                          key: Ed25519PrivateKey) -> None:
    coordinator = Coordinator(key, five.endpoints(), threshold=3)
    covered: dict[str, list[bool]] = {"quantile": [], "min/max": []}
    errors, widths = [], []
    for where, group in QUERIES:
        truth = reference(files, where, group)
        for alias, value, ci, se, want in cells(run(coordinator, where, group, DPParams(4.0, 1e-6)), truth):
            lo, hi = BOUNDS[alias.split("_")[1]]
            assert lo <= ci[0] <= value <= ci[1] <= hi and se > 0, (alias, value, ci)
            kind = "min/max" if alias[:2] in ("lo", "hi") else "quantile"
            covered[kind].append(ci[0] <= want <= ci[1])
            if kind == "quantile":
                errors.append(abs(value - want) / (hi - lo))
                widths.append((ci[1] - ci[0]) / (hi - lo))
    rates = {k: sum(v) / len(v) for k, v in covered.items()}
    print(f"cells {sum(map(len, covered.values()))}: coverage {rates}, median |error| {statistics.median(errors):.3f}"
          f" and 95 % width {statistics.median(widths):.3f} of the range")
    assert len(covered["quantile"]) >= 180 and len(covered["min/max"]) >= 70
    assert rates["quantile"] >= 0.9 and rates["min/max"] >= 0.9, rates
    assert statistics.median(errors) < 0.08 and statistics.median(widths) < 0.5  # informative, not just wide


def test_exact_quantiles_give_the_bins_holding_the_true_value(five: Cluster, files: list[Path],
                                                              key: Ed25519PrivateKey) -> None:
    coordinator = Coordinator(key, five.endpoints(), threshold=3)
    seen = 0
    for where, group in QUERIES[::2]:
        result = run(coordinator, where, group, None)
        assert not result.noised
        for alias, value, ci, se, want in cells(result, reference(files, where, group)):
            lo, hi = BOUNDS[alias.split("_")[1]]
            width = (hi - lo) / QUANTILE_BINS
            assert ci[0] <= want <= ci[1] and ci[0] <= value <= ci[1], (alias, value, ci, want)
            assert all(((e - lo) / width).is_integer() for e in ci), "bin resolution only"
            assert math.isclose(se, (ci[1] - ci[0]) / 2 / 1.959963984540054)
            if alias[:2] in ("lo", "hi"):  # the bin holding the true MIN (MAX), its lower (upper) edge released
                assert ci[1] - ci[0] == width and value == ci[0 if alias[:2] == "lo" else 1], (alias, value, ci)
            seen += 1
    assert seen > 100


def test_exact_quantiles_keep_the_differencing_control(five: Cluster, key: Ed25519PrivateKey) -> None:
    """The tree's finest bins are atoms: a product whose public cells hold 1..m-1 rows in some bin refuses."""
    coordinator = Coordinator(key, five.endpoints(), threshold=5)
    plan = exact_plan(parse_query("SELECT MEDIAN(temp) AS m, MAX(n) AS x FROM data GROUP BY city", COLUMNS),
                      COLUMNS)
    with pytest.raises(DisclosureRefused):
        run_exact_sync(coordinator, plan, 10, "q-refused")
    answered = run_exact_sync(Coordinator(key, five.endpoints(), threshold=5), plan, 1, "q-answered")
    assert all(g.values["m"] is not None for g in answered.groups)


def test_expected_error_of_the_new_kinds() -> None:
    plan = parse_query("SELECT MEDIAN(temp), QUANTILE(n, 0.9), MIN(n), MAX(n) FROM data", COLUMNS)
    noise = calibrate(plan, DPParams(1.0, 1e-6))
    tree = [e for e in component_errors(plan, noise) if e.stat in ("quantile", "min", "max")]
    assert [(e.stat, e.column, e.bins) for e in tree] == [("quantile", "temp", 256), ("quantile", "n", 256),
                                                          ("min", "n", 256), ("max", "n", 256)]
    assert tree[0].quantum == 90 / 256 and tree[3].quantum == 200 / 256
    assert all(e.sd > 0 and e.ci95_half_width == 1.96 * e.sd for e in tree)
    assert tree[2].sd == tree[3].sd < tree[1].sd  # MIN and MAX carry no share of the count's noise
    assert all(e.sd == 0 for e in component_errors(plan, no_noise(plan)))


def test_a_node_checks_an_exact_trees_bins_against_its_cell_size(files: list[Path]) -> None:
    """A node's own min_group_size rule: noised, a quantile releases only a DP estimate, so its column's
    count per group is the cell; exact, the answer is read from the tree's finest bins, so each is a cell."""
    plan = parse_query("SELECT MEDIAN(temp) AS m, MAX(n) AS x FROM data GROUP BY city", COLUMNS)
    local = LocalData(files[0])
    check_cells(plan, local.compute, 5)
    with pytest.raises(PolicyRefused) as e:
        check_cells(plan, local.compute, 5, exact=True)
    assert e.value.rule == "min_group_size"
