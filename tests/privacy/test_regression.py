"""LINREG through real provider nodes against numpy's least squares on the union of the files.

Five providers' files with NULLs in each column and values outside the bounds: the exact (noise-off) fit equals
numpy's on the complete cases (clipped, rounded to the declared decimals) to 1e-6; noised fits land within their
stated noise error at the stated rate; the capacity rule and the node's policy cover the regression lanes.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import DPParams, calibrate, no_noise
from privacy.coordinator import Coordinator
from privacy.errors import PolicyRefused
from privacy.plan import ColumnSpec, Plan
from privacy.provider.policy import check_plan, policy_from_body
from privacy.secagg.crypto import public_key_hex
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster, start_cluster

COLUMNS = [
    ColumnSpec("y", "float", -100, 100, decimals=2),
    ColumnSpec("x1", "float", 0, 10, decimals=1),
    ColumnSpec("x2", "int", 0, 50),
    ColumnSpec("site", "category", domain=["a", "b"]),
]
FIT = "SELECT LINREG(y, x1, x2) AS m FROM data"


def write_file(path: Path, rows: int, seed: int) -> Path:
    """y = 3 + 2·x1 − 1.5·x2 + N(0, 4²), with NULLs in every column and a few values outside the bounds."""
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["y", "x1", "x2", "site"])
        for _ in range(rows):
            x1, x2 = rng.uniform(-0.5, 10.5), rng.randint(0, 52)
            y = 3 + 2 * x1 - 1.5 * x2 + rng.gauss(0, 4)
            row = [f"{y:.4f}", f"{x1:.3f}", x2, rng.choice("ab")]
            if rng.random() < 0.1:
                row[rng.randrange(3)] = ""
            w.writerow(row)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("linreg-data")
    return [write_file(d / f"p{i}.csv", 400 + 20 * i, seed=i) for i in range(5)]


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def five(files: list[Path], key: Ed25519PrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = start_cluster(files, tmp_path_factory.mktemp("linreg-five"), public_key_hex(key))
    yield c
    c.stop()


def reference(files: list[Path], where: str = "") -> tuple[np.ndarray, float, int]:
    """numpy's coefficients (intercept first), R² and n over the complete cases, clipped and encoded in fixed
    point as the nodes encode them (``round(v · 10^decimals)``)."""
    src = " UNION ALL ".join(f"SELECT * FROM read_csv_auto('{f}')" for f in files)
    cond = f"AND ({where})" if where else ""
    rows = duckdb.sql(
        "SELECT ROUND(LEAST(GREATEST(y, -100), 100) * 100) / 100, ROUND(LEAST(GREATEST(x1, 0), 10) * 10) / 10, "
        f"LEAST(GREATEST(x2, 0), 50) FROM ({src}) WHERE y IS NOT NULL AND x1 IS NOT NULL AND x2 IS NOT NULL {cond}"
    ).fetchall()
    data = np.array(rows, dtype=float)
    x = np.column_stack([np.ones(len(data)), data[:, 1:]])
    beta, *_ = np.linalg.lstsq(x, data[:, 0], rcond=None)
    resid = data[:, 0] - x @ beta
    r2 = 1 - resid @ resid / ((data[:, 0] - data[:, 0].mean()) @ (data[:, 0] - data[:, 0].mean()))
    return beta, float(r2), len(data)


def fit(coordinator: Coordinator, sql: str, dp: DPParams | None) -> dict:
    plan = parse_query(sql, COLUMNS)
    result = coordinator.run_sync(plan, calibrate(plan, dp) if dp else no_noise(plan), min_group_size=10)
    g = result.groups[0]
    return {"se": g.se["m"], "ci95": g.ci95["m"], **g.values["m"]}


@pytest.mark.parametrize("where", ["", "site = 'a' AND x1 > 2"])
def test_exact_fit_equals_numpy_on_complete_cases(five: Cluster, files: list[Path], key: Ed25519PrivateKey,
                                                  where: str) -> None:
    got = fit(Coordinator(key, five.endpoints(), threshold=3), FIT + (f" WHERE {where}" if where else ""), None)
    beta, r2, n = reference(files, where)
    assert got["n"] == n and n < 2200 * 0.95  # rows with a NULL left out
    assert np.allclose(got["coef"], beta, rtol=1e-6, atol=0)
    assert abs(got["r2"] - r2) < 1e-9 and got["se_noise"] == [0.0, 0.0, 0.0] and got["ridge"] == 0.0
    assert got["terms"] == ["(intercept)", "x1", "x2"] and all(s > 0 for s in got["se"])


def test_noised_fits_cover_numpy_at_the_stated_rate(five: Cluster, files: list[Path],
                                                    key: Ed25519PrivateKey) -> None:
    beta, _, n = reference(files)
    coordinator = Coordinator(key, five.endpoints(), threshold=3)
    hits, errors = 0, []
    for _ in range(30):
        got = fit(coordinator, FIT, DPParams(12.0))
        z = (np.array(got["coef"]) - beta) / np.array(got["se_noise"])
        hits += int(np.sum(np.abs(z) <= 1.96))
        errors.extend(z.tolist())
        assert all(s >= sn for s, sn in zip(got["se"], got["se_noise"], strict=True))
        assert abs(got["n"] - n) < 50
    assert hits >= 0.85 * 90, (hits, errors)
    assert 0.35 < float(np.mean(np.square(errors))) < 2.2  # a standard error wrong by 2x either way fails


def test_cross_products_are_capacity_checked_and_policy_covered() -> None:
    with pytest.raises(ValueError, match="cross-products"):
        ColumnSpec("x", "float", 0, 2.0**47, decimals=1)
    plan = parse_query(FIT, COLUMNS)
    assert Plan.from_dict(plan.to_dict()) == plan and plan.complete == ("x1", "x2", "y")
    stats = {c.stat for c in plan.components()}
    assert stats == {"count_star", "sum", "sumsq", "xprod"}
    noise = calibrate(plan, DPParams(1.0))

    def policy(x2_uses: list[str], max_rho: float) -> object:
        cols = [{"name": c.name, "type": c.type, "lo": c.lo, "hi": c.hi, "decimals": c.decimals, "domain": None,
                 "uses": x2_uses if c.name == "x2" else ["aggregate"]} for c in COLUMNS[:3]]
        return policy_from_body({"type": "provider_policy", "version": 1, "node": "p0", "dataset": "d",
                                 "columns": cols, "max_rho_per_query": max_rho, "min_group_size": 10,
                                 "daily_query_limit": None})

    check_plan(policy(["aggregate"], 1.0), plan, list(noise.units), list(noise.variances), 3)
    with pytest.raises(PolicyRefused, match="x2"):
        check_plan(policy(["filter"], 1.0), plan, list(noise.units), list(noise.variances), 3)
    with pytest.raises(PolicyRefused, match="rho"):  # the noise floor sees the cross-product lanes
        check_plan(policy(["aggregate"], 1e-4), plan, list(noise.units), list(noise.variances), 3)
