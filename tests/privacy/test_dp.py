"""DP noise statistics, accountant math, atomic budget spending, noised end-to-end query."""

from __future__ import annotations

import math
import sqlite3
import threading
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy import accountant
from privacy.calibrate import DPParams, calibrate, lane_variances
from privacy.coordinator import Coordinator
from privacy.errors import BudgetExceeded, DPConfigError
from privacy.noise import CryptoUniform, poisson, skellam_shares
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster
from tests.privacy.conftest import COLUMNS, union_sql


@pytest.mark.parametrize("lam", [3.0, 40.0, 5000.0])
def test_poisson_mean_and_variance(lam: float) -> None:
    rng = CryptoUniform()
    n = 4000
    xs = [poisson(lam, rng) for _ in range(n)]
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    assert abs(mean - lam) < 5 * math.sqrt(lam / n)
    assert abs(var / lam - 1) < 5 * math.sqrt(2 / n) + 0.02


def test_summed_skellam_shares_have_expected_variance() -> None:
    """n providers each add a share with variance var/t; the sum has variance n/t * var."""
    n, t, var, runs = 5, 3, 400.0, 3000
    totals = [sum(skellam_shares([var], t)[0] for _ in range(n)) for _ in range(runs)]
    mean = sum(totals) / runs
    sample_var = sum((x - mean) ** 2 for x in totals) / (runs - 1)
    expected = var * n / t
    assert abs(mean) < 5 * math.sqrt(expected / runs)
    assert abs(sample_var / expected - 1) < 5 * math.sqrt(2 / runs)
    assert all(isinstance(x, int) for x in totals)


def test_epsilon_rho_round_trip_and_composition() -> None:
    rho = accountant.rho_from_epsilon(1.0, 1e-6)
    assert accountant.epsilon_from_rho(rho, 1e-6) == pytest.approx(1.0)
    # zCDP composes additively: two queries of rho/2 spend exactly one of rho.
    assert accountant.can_spend(rho, rho / 2, rho / 2)
    assert not accountant.can_spend(rho, rho / 2, rho / 2 + 1e-9)
    assert accountant.remaining_epsilon(rho, rho, 1e-6) == 0
    with pytest.raises(DPConfigError):
        accountant.rho_from_epsilon(-1, 1e-6)


def test_skellam_cost_matches_gaussian_limit_and_calibration() -> None:
    # For large variance Skellam approaches the Gaussian mechanism: rho ~ d^2 / (2 var).
    assert accountant.skellam_rho(1, 1, 1e6) == pytest.approx(1 / 2e6, rel=1e-5)
    plan = parse_query("SELECT COUNT(*), AVG(income), VARIANCE(age) FROM t", COLUMNS)
    dp = DPParams(0.5, 1e-6)
    noise = calibrate(plan, dp)
    assert noise.rho <= dp.rho * (1 + 1e-9) and noise.rho >= dp.rho * 0.99
    assert noise.epsilon <= 0.5 + 1e-9
    assert len(lane_variances(plan, noise)) == plan.vector_length()
    # income is float with 2 decimals, bound 1000 -> 100000 units for the sum
    sums = [c for c in plan.components() if c.stat == "sum" and c.column == "income"]
    assert sums and noise.units[plan.components().index(sums[0])] == 2


def test_budget_refusal_says_what_is_left() -> None:
    budget = accountant.rho_from_epsilon(1.0, 1e-6)
    cost = accountant.rho_from_epsilon(0.8, 1e-6)
    accountant.check_spend(budget, 0.0, cost, 1e-6)
    with pytest.raises(BudgetExceeded) as info:
        accountant.check_spend(budget, cost, cost, 1e-6)
    assert info.value.code == "privacy_budget_exceeded" and info.value.http_status == 403
    assert "is left" in info.value.detail and "epsilon=" in info.value.detail


def test_concurrent_spending_never_overspends(tmp_path: Path) -> None:
    """The spend rule is one SQL predicate, so a single UPDATE enforces it atomically."""
    db = tmp_path / "budget.sqlite"
    budget = accountant.rho_from_epsilon(2.0, 1e-6)
    cost = accountant.rho_from_epsilon(0.6, 1e-6)
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE budget (id TEXT PRIMARY KEY, total REAL, spent REAL)")
        con.execute("INSERT INTO budget VALUES ('lic', ?, 0)", (budget,))
    granted: list[bool] = []
    lock = threading.Lock()

    def spend() -> None:
        con = sqlite3.connect(db, timeout=30, isolation_level=None)
        cur = con.execute(
            "UPDATE budget SET spent = spent + ? WHERE id = 'lic' AND spent + ? <= total",
            (cost, cost),
        )
        with lock:
            granted.append(cur.rowcount == 1)
        con.close()

    threads = [threading.Thread(target=spend) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    spent = sqlite3.connect(db).execute("SELECT spent FROM budget").fetchone()[0]
    n_ok = sum(granted)
    assert spent <= budget and n_ok == int(budget // cost) and n_ok < 40
    assert not accountant.can_spend(budget, spent, cost)


def test_noised_query_end_to_end(
    cluster: Cluster, coord_key: Ed25519PrivateKey, data_files: list[Path]
) -> None:
    coord = Coordinator(coord_key, cluster.endpoints(), threshold=3, timeout=20)
    plan = parse_query("SELECT COUNT(*) AS n, SUM(age) AS s, region FROM t GROUP BY region",
                       COLUMNS)
    dp = DPParams(epsilon=0.5, delta=1e-6)
    result = coord.run_sync(plan, calibrate(plan, dp), min_group_size=10)
    assert result.noised and result.epsilon == pytest.approx(0.5, rel=0.01)
    assert result.epsilon <= 0.5 + 1e-9 and result.rho <= dp.rho * (1 + 1e-9)
    noise = calibrate(plan, dp)
    ref = dict(duckdb.sql(f"SELECT region, COUNT(*) FROM {union_sql(data_files)} "
                          "GROUP BY region").fetchall())
    sd = math.sqrt(noise.variances[0] * 4 / 3)
    assert sd > 10
    for g in result.groups:
        assert not g.suppressed
        assert abs(g.values["n"] - ref[g.key["region"]]) < 8 * sd
    assert any(g.values["n"] != ref[g.key["region"]] for g in result.groups)
