"""Contribution bounding per privacy ID, at real provider nodes whose own signed policies declare the ID.

Three nodes hold small IDs (never more than R rows in a group, nor more than G groups: bounding keeps them
whole, so their exact totals are the DuckDB reference) and a few heavy IDs: ``w1`` with 1,000 rows at one
node (its first R rows in file order are 0, the rest the bound), ``w3`` with 1,000 rows at every node, and
``wg`` with 100 rows in each of three groups. Exact (no-noise) plans run through the coordinator.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import DPParams, calibrate, no_noise
from privacy.coordinator import Coordinator, ProviderEndpoint
from privacy.errors import PolicyRefused
from privacy.plan import ColumnSpec, Plan
from privacy.provider.policy import policy_from_body, sign_policy, write_document
from privacy.provider.postgres import PostgresSource
from privacy.secagg.constants import REFUSAL
from privacy.secagg.crypto import load_or_create_identity, load_public_key, public_key_hex, verify
from privacy.sql import parse_query
from privacy.unit import PrivacyUnit
from tests.privacy.cluster import Cluster, start_cluster

R, G, BOUND = 3, 2, 10
SOURCES = ["small", "w1", "w3", "wg"]
GROUPS = ["a", "b", "c"]
COLUMNS = [ColumnSpec("v", "int", 0, BOUND), ColumnSpec("src", "category", domain=SOURCES),
           ColumnSpec("g", "category", domain=GROUPS)]
HEADER = ["id", "src", "g", "v"]


def rows_of(node: int) -> list[list[Any]]:
    rng = random.Random(node)
    rows: list[list[Any]] = []
    for i in range(40):  # small IDs: 1..R rows, all in one group
        g = rng.choice(GROUPS)
        rows += [[f"s{node}-{i}", "small", g, rng.randint(0, BOUND)] for _ in range(rng.randint(1, R))]
    if node == 0:
        rows += [["w1", "w1", "a", 0 if k < R else BOUND] for k in range(1000)]
        rows += [["wg", "wg", GROUPS[k % 3], BOUND] for k in range(300)]
    rows += [["w3", "w3", "b", BOUND] for _ in range(1000)]
    return rows


def policy_body(node: str, max_rows: int = R, max_groups: int = G, prefixes: list[str] | None = None) -> dict[str, Any]:
    unit: dict[str, Any] = {"column": "id", "max_rows_per_id": max_rows, "max_groups_per_id": max_groups}
    if prefixes:
        unit["id_prefixes"] = prefixes
    return {"type": "provider_policy", "version": 1, "node": node, "dataset": "herds",
            "columns": [{"name": "id", "type": "category", "lo": None, "hi": None, "decimals": 0, "domain": None,
                         "uses": []},
                        {"name": "v", "type": "int", "lo": 0, "hi": BOUND, "decimals": 0, "domain": None,
                         "uses": ["aggregate"]},
                        {"name": "src", "type": "category", "lo": None, "hi": None, "decimals": 0, "domain": SOURCES,
                         "uses": ["group_by", "filter"]},
                        {"name": "g", "type": "category", "lo": None, "hi": None, "decimals": 0, "domain": GROUPS,
                         "uses": ["group_by", "filter"]}],
            "max_rho_per_query": None, "min_group_size": 1, "daily_query_limit": None,
            "privacy_unit": unit}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("pid-data")
    out = []
    for node in range(3):
        path = d / f"p{node}.csv"
        with path.open("w", newline="") as f:
            csv.writer(f).writerows([HEADER, *rows_of(node)])
        out.append(path)
    return out


def signed_cluster(files: list[Path], work: Path, coord: Ed25519PrivateKey,
                   prefixes: list[list[str]] | None = None) -> Cluster:
    for i in range(len(files)):
        key_dir = work / f"keys-p{i}"
        body = policy_body(f"p{i}", prefixes=prefixes[i] if prefixes else None)
        write_document(key_dir / "policy.json", sign_policy(policy_from_body(body), load_or_create_identity(key_dir)))
    return start_cluster(files, work, public_key_hex(coord))


@pytest.fixture(scope="module")
def herds(files: list[Path], coord_key: Ed25519PrivateKey,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = signed_cluster(files, tmp_path_factory.mktemp("pid-cluster"), coord_key)
    yield c
    c.stop()


def plan_of(sql: str, max_rows: int = R, max_groups: int = G, providers: int = 3, partitioned: bool = False) -> Plan:
    plan = parse_query(sql, COLUMNS)
    return dataclasses.replace(plan, privacy_unit=PrivacyUnit("id", max_rows, max_groups, providers, partitioned))


def run(coord: Ed25519PrivateKey, cluster: Cluster, plan: Plan,
        prefixes: list[list[str]] | None = None) -> dict[Any, dict[str, Any]]:
    """The exact result: each group's values by its (first) group-by value (None without GROUP BY)."""
    eps = [ProviderEndpoint(n.id, n.url, n.public_key,
                            policy_from_body(policy_body(n.id, prefixes=prefixes[i] if prefixes else None)).hash())
           for i, n in enumerate(cluster.nodes)]
    result = Coordinator(coord, eps, threshold=2, pool=1).run_sync(plan, no_noise(plan), min_group_size=0)
    return {next(iter(g.key.values()), None): g.values for g in result.groups}


def reference(files: list[Path], sql: str) -> Any:
    union = " UNION ALL ".join(f"SELECT * FROM read_csv_auto('{f}')" for f in files)
    rel = duckdb.sql(sql.replace("FROM data", f"FROM ({union})"))
    assert rel is not None
    return rel.fetchall()[0]


def test_an_id_with_1000_rows_moves_a_sum_by_at_most_r_times_the_bound(
        herds: Cluster, files: list[Path], coord_key: Ed25519PrivateKey) -> None:
    small_n, small_sum = reference(files, "SELECT COUNT(*), SUM(v) FROM data WHERE src = 'small'")
    sums = set()
    for _ in range(2):  # at one provider: w1 (1,000 rows) adds R rows, chosen at random (its first R are 0)
        out = run(coord_key, herds, plan_of("SELECT COUNT(*) AS n, SUM(v) AS s FROM data "
                                            "WHERE src IN ('small', 'w1')"))[None]
        n, s = out["n"], out["s"]
        assert n - small_n == R and 0 <= s - small_sum <= R * BOUND
        sums.add(s - small_sum)
    assert min(sums) >= (R - 1) * BOUND  # not the first rows in file order (those sum to 0)
    by_src = run(coord_key, herds, plan_of("SELECT COUNT(*) AS n, SUM(v) AS s, src FROM data GROUP BY src"))
    assert by_src["small"] == {"n": small_n, "s": small_sum}  # IDs within the bounds are untouched
    assert by_src["w3"] == {"n": 3 * R, "s": 3 * R * BOUND}  # the same ID at 3 providers: P·R rows, P·R·bound
    assert by_src["wg"]["n"] == R and by_src["w1"]["n"] == R  # a COUNT moves by at most R per group


def test_max_groups_per_id_holds_across_groups(herds: Cluster, coord_key: Ed25519PrivateKey) -> None:
    chosen = set()
    for _ in range(2):
        counts = {k: v["n"] for k, v in run(coord_key, herds, plan_of(
            "SELECT COUNT(*) AS n, g FROM data WHERE src = 'wg' GROUP BY g")).items()}
        assert sum(counts.values()) == G * R and sorted(counts.values()) == [0] + [R] * G
        chosen.add(frozenset(k for k, n in counts.items() if n))
    one = {k: v["n"] for k, v in run(coord_key, herds, plan_of(
        "SELECT COUNT(*) AS n, g FROM data WHERE src = 'wg' GROUP BY g", max_groups=1)).items()}
    assert sorted(one.values()) == [0, 0, R]


def refusal(coord: Ed25519PrivateKey, cluster: Cluster, plan: Plan) -> str:
    """The signed refusal's rule and reason (checked against the refusing node's own key)."""
    with pytest.raises(PolicyRefused) as info:
        run(coord, cluster, plan)
    err = info.value
    node = next(n for n in cluster.nodes if n.id == err.node)
    assert err.refusal is not None
    body = verify(err.refusal, node.id, load_public_key(node.public_key))
    assert body["type"] == REFUSAL and body["rule"] == err.rule == "privacy_unit" and body["plan_hash"] == plan.hash()
    return err.reason


def test_a_node_refuses_plans_beyond_its_bounds_or_without_the_unit(herds: Cluster,
                                                                    coord_key: Ed25519PrivateKey) -> None:
    sql = "SELECT COUNT(*) FROM data GROUP BY g"
    assert "at most 3 and 2" in refusal(coord_key, herds, plan_of(sql, max_rows=R + 1))
    assert "at most 3 and 2" in refusal(coord_key, herds, plan_of(sql, max_groups=G + 1))
    assert "no privacy unit" in refusal(coord_key, herds, dataclasses.replace(plan_of(sql), privacy_unit=None))
    other = dataclasses.replace(plan_of(sql), privacy_unit=PrivacyUnit("src", R, G))
    assert "privacy ID is 'id'" in refusal(coord_key, herds, other)
    assert "declares no ID prefixes" in refusal(coord_key, herds, plan_of(sql, providers=1, partitioned=True))


def test_ids_partitioned_by_provider_count_once_across_the_federation(
        files: list[Path], coord_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """Each node keeps only its own prefix: an ID's rows at another node are dropped, so P = 1 holds."""
    prefixes = [["E-"], ["W-"]]
    data = []
    for i, (mine, other) in enumerate([("E-1", "W-1"), ("W-1", "E-1")]):
        path = tmp_path / f"part{i}.csv"
        rows = [[mine, "w1", "a", BOUND]] * 1000 + [[other, "w1", "a", BOUND]] * 50 + [[f"{mine}x", "small", "a", 1]]
        with path.open("w", newline="") as f:
            csv.writer(f).writerows([HEADER, *rows])
        data.append(path)
    cluster = signed_cluster(data, tmp_path, coord_key, prefixes)
    try:
        plan = plan_of("SELECT COUNT(*) AS n, SUM(v) AS s FROM data WHERE src = 'w1'", providers=1, partitioned=True)
        assert run(coord_key, cluster, plan, prefixes)[None] == {"n": 2 * R, "s": 2 * R * BOUND}  # R per ID, in all
    finally:
        cluster.stop()


def test_noise_scales_with_rows_and_the_root_of_groups() -> None:
    dp = DPParams(0.1, 1e-6)
    grouped = parse_query("SELECT COUNT(*), SUM(v) FROM data GROUP BY g", COLUMNS)  # 3 groups
    base = calibrate(grouped, dp)
    for rows, groups, providers, factor in [(4, 1, 1, 4), (4, 2, 1, 4 * 2 ** 0.5), (2, 100, 3, 2 * 3 * 3 ** 0.5)]:
        unit = PrivacyUnit("id", rows, groups, providers)  # G binds only up to the plan's 3 groups
        noise = calibrate(dataclasses.replace(grouped, privacy_unit=unit), dp)
        for v, v0 in zip(noise.variances, base.variances, strict=True):
            assert (v / v0) ** 0.5 == pytest.approx(factor, rel=0.02)
        assert noise.epsilon == pytest.approx(0.1, rel=0.01)  # the same charge, now per ID
    flat = parse_query("SELECT COUNT(*) FROM data", COLUMNS)  # no GROUP BY: G is 1
    wide = calibrate(dataclasses.replace(flat, privacy_unit=PrivacyUnit("id", 5, 50)), dp)
    assert (wide.variances[0] / calibrate(flat, dp).variances[0]) ** 0.5 == pytest.approx(5, rel=0.02)


PG_URL = os.environ.get("PROVEX_TEST_POSTGRES_URL")


@pytest.fixture(scope="module")
def pg_source() -> Iterator[PostgresSource]:
    if not PG_URL:
        pytest.skip("PROVEX_TEST_POSTGRES_URL not set")
    dsn, schema = PG_URL.replace("postgresql+psycopg://", "postgresql://"), f"pid_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".herd (id text, src text, g text, v integer)')
        with conn.cursor() as cur:
            cur.executemany(f'INSERT INTO "{schema}".herd VALUES (%s, %s, %s, %s)', rows_of(0))
    yield PostgresSource(f"{PG_URL}#{schema}.herd")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_the_postgresql_pushdown_bounds_each_id_too(pg_source: PostgresSource) -> None:
    plan = plan_of("SELECT COUNT(*), SUM(v), HISTOGRAM(v, 0, 10, 2), src FROM data GROUP BY src")
    units = [1] * len(plan.components())
    width = plan.layout().width  # per group: count_star, sum, count(v), 2 bins
    vec = pg_source.compute(plan, units)
    w1 = vec[SOURCES.index("w1") * width:][:width]
    assert w1[0] == R and (R - 1) * BOUND <= w1[1] <= R * BOUND and w1[2] == w1[3] + w1[4] == R
    per_g = pg_source.compute(plan_of("SELECT COUNT(*) FROM data WHERE src = 'wg' GROUP BY g"), [1])
    assert sorted(per_g) == [0] + [R] * G
    assert plan.privacy_unit is not None  # a node holding the prefix "w1" only keeps that ID
    own = dataclasses.replace(plan, privacy_unit=dataclasses.replace(plan.privacy_unit, prefixes=("w1",)))
    assert pg_source.compute(own, units)[::width] == [0, R, 0, 0]
