"""Provider nodes enforce their own signed policy against a coordinator that signs violating plans.

The coordinator here holds the real coordinator key and signs whatever plan it is given (no registry in
between); each real node process refuses, with a signed refusal naming the rule, every plan that breaks
its policy.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import DPParams, NoisePlan, calibrate, no_noise
from privacy.coordinator import Coordinator, ProviderEndpoint
from privacy.errors import PolicyMismatch, PolicyRefused
from privacy.plan import KINDS, Plan
from privacy.provider.policy import (
    Policy,
    PolicyFormatError,
    policy_from_body,
    read_document,
    sign_policy,
    verify_policy,
    write_document,
)
from privacy.secagg.constants import REFUSAL
from privacy.secagg.crypto import load_or_create_identity, load_public_key, public_key_hex, verify
from privacy.sql import parse_query
from tests.privacy.cluster import ROOT, Cluster, free_port, start_cluster
from tests.privacy.conftest import COLUMNS, REGIONS

MAX_RHO = 0.02  # about epsilon 1.1 at delta 1e-6 from one node's own noise share
MIN_GROUP = 5


def policy_body(node: str, *, limit: int | None = 1000, max_rho: float | None = MAX_RHO) -> dict[str, Any]:
    """The test data's policy: `score` undeclared, `income` aggregate-only, `age` aggregate or filter."""
    return {"type": "provider_policy", "version": 1, "node": node, "dataset": "people",
            "columns": [
                {"name": "age", "type": "int", "lo": 0, "hi": 99, "decimals": 0, "domain": None,
                 "uses": ["aggregate", "filter"]},
                {"name": "income", "type": "float", "lo": 0, "hi": 1000, "decimals": 2, "domain": None,
                 "uses": ["aggregate"]},
                {"name": "region", "type": "category", "lo": None, "hi": None, "decimals": 0,
                 "domain": REGIONS, "uses": ["group_by", "filter"]},
                {"name": "level", "type": "int", "lo": 1, "hi": 3, "decimals": 0, "domain": [1, 2, 3],
                 "uses": ["group_by", "filter"]},
            ],
            "max_rho_per_query": max_rho, "min_group_size": MIN_GROUP, "daily_query_limit": limit}


def write_signed_policy(key_dir: Path, node: str, **kw: Any) -> Policy:
    """Sign the node's policy with its own identity key and put it where the node loads it."""
    identity = load_or_create_identity(key_dir)
    policy = policy_from_body(policy_body(node, **kw))
    write_document(key_dir / "policy.json", sign_policy(policy, identity))
    return policy


def policy_cluster(files: list[Path], workdir: Path, coord: Ed25519PrivateKey, **kw: Any) -> Cluster:
    for i in range(len(files)):
        write_signed_policy(workdir / f"keys-p{i}", f"p{i}", **kw)
    return start_cluster(files, workdir, public_key_hex(coord))


@pytest.fixture(scope="module")
def guarded(data_files: list[Path], coord_key: Ed25519PrivateKey,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = policy_cluster(data_files[:3], tmp_path_factory.mktemp("guarded"), coord_key)
    yield c
    c.stop()


def endpoints(cluster: Cluster) -> list[ProviderEndpoint]:
    return [ProviderEndpoint(n.id, n.url, n.public_key, read_policy_hash(n.key_dir)) for n in cluster.nodes]


def read_policy_hash(key_dir: Path) -> str:
    return policy_from_body(read_document(key_dir / "policy.json")["body"]).hash()


def plan_of(sql: str) -> Plan:
    """Any SQL over the test columns: the coordinator is not held to a license here."""
    return parse_query(sql, COLUMNS, allowed_columns={c.name for c in COLUMNS}, allowed_kinds=set(KINDS))


def run(coord: Ed25519PrivateKey, cluster: Cluster, plan: Plan, noise: NoisePlan,
        eps: list[ProviderEndpoint] | None = None) -> Any:
    return Coordinator(coord, eps or endpoints(cluster), threshold=len(cluster.nodes) // 2 + 1,
                       pool=1).run_sync(plan, noise, min_group_size=0)


def refused(coord: Ed25519PrivateKey, cluster: Cluster, plan: Plan, noise: NoisePlan) -> PolicyRefused:
    with pytest.raises(PolicyRefused) as info:
        run(coord, cluster, plan, noise)
    err = info.value
    assert err.node in {n.id for n in cluster.nodes} and err.refusal is not None
    node = next(n for n in cluster.nodes if n.id == err.node)
    body = verify(err.refusal, node.id, load_public_key(node.public_key))  # signed by the node itself
    assert body["type"] == REFUSAL and body["rule"] == err.rule and body["node"] == node.id
    assert body["plan_hash"] == plan.hash() and body["policy"] == read_policy_hash(node.key_dir)
    assert err.rule in err.detail and node.id in err.detail
    return err


def noised(plan: Plan, epsilon: float = 0.5) -> NoisePlan:
    return calibrate(plan, DPParams(epsilon, 1e-6))


def test_a_plan_within_the_policy_is_answered(guarded: Cluster, coord_key: Ed25519PrivateKey) -> None:
    plan = plan_of("SELECT COUNT(*) AS n, AVG(income) AS a FROM data WHERE age >= 18 GROUP BY region")
    result = run(coord_key, guarded, plan, noised(plan))
    assert sorted(result.participants) == ["p0", "p1", "p2"] and len(result.groups) == len(REGIONS)
    for node in guarded.nodes:
        ident = httpx.get(node.url + "/identity").json()
        assert ident["policy_hash"] == read_policy_hash(node.key_dir)
        doc = httpx.get(node.url + "/policy").json()
        assert verify_policy(doc, node.id, load_public_key(node.public_key)).hash() == ident["policy_hash"]


def test_undeclared_column_is_refused(guarded: Cluster, coord_key: Ed25519PrivateKey) -> None:
    plan = plan_of("SELECT SUM(score) FROM data")
    err = refused(coord_key, guarded, plan, noised(plan))
    assert err.rule == "undeclared_column" and "'score'" in err.reason


def test_filter_on_an_aggregate_only_column_is_refused(guarded: Cluster, coord_key: Ed25519PrivateKey) -> None:
    plan = plan_of("SELECT COUNT(*) FROM data WHERE income > 500")
    err = refused(coord_key, guarded, plan, noised(plan))
    assert err.rule == "column_use" and "'income' may not be used for filter" in err.reason


def test_noise_below_the_floor_is_refused(guarded: Cluster, coord_key: Ed25519PrivateKey) -> None:
    plan = plan_of("SELECT COUNT(*), SUM(age) FROM data GROUP BY region")
    lanes = len(plan.components())
    tiny = NoisePlan(units=(1,) * lanes, variances=(1e-9,) * lanes, rho=0.0, delta=1e-6)
    err = refused(coord_key, guarded, plan, tiny)
    assert err.rule == "noise_floor" and "at most rho 0.02" in err.reason
    assert refused(coord_key, guarded, plan, no_noise(plan)).reason.startswith("no noise")
    too_much = noised(plan, epsilon=3.0)  # a real calibration, but more than one query may cost here
    assert refused(coord_key, guarded, plan, too_much).rule == "noise_floor"


def test_the_noise_floor_holds_for_quantile_trees(guarded: Cluster, coord_key: Ed25519PrivateKey) -> None:
    """Every level of a quantile's histogram tree is a lane family the floor counts (one row moves one lane
    in each): within the floor the plan is answered, above it refused."""
    plan = plan_of("SELECT MEDIAN(age) AS m, QUANTILE(income, 0.9) AS q, MIN(age), MAX(income) FROM data "
                   "GROUP BY region")
    result = run(coord_key, guarded, plan, noised(plan, epsilon=0.5))  # answered (a small group may be suppressed)
    assert len(result.groups) > 1 and any(g.values["m"] is not None for g in result.groups)
    assert refused(coord_key, guarded, plan, noised(plan, epsilon=3.0)).rule == "noise_floor"
    lanes = len(plan.components())
    deaf = NoisePlan(units=(1,) * lanes, variances=(1e6,) + (1e-9,) * (lanes - 1), rho=0.0, delta=1e-6)
    assert refused(coord_key, guarded, plan, deaf).rule == "noise_floor"


def single_row_filter(files: list[Path]) -> str:
    """A WHERE that holds exactly one row of the first node's data."""
    src = f"read_csv_auto('{files[0]}')" if files[0].suffix == ".csv" else f"read_parquet('{files[0]}')"
    rel = duckdb.sql(f"SELECT age, region FROM {src} GROUP BY ALL HAVING COUNT(*) = 1 LIMIT 1")
    assert rel is not None
    age, region = rel.fetchall()[0]
    return f"age = {age} AND region = '{region}'"


def test_a_filter_isolating_few_rows_is_refused(guarded: Cluster, coord_key: Ed25519PrivateKey,
                                                data_files: list[Path]) -> None:
    where = single_row_filter(data_files)
    plan = plan_of(f"SELECT COUNT(*), SUM(income) FROM data WHERE {where}")
    err = refused(coord_key, guarded, plan, noised(plan))
    assert err.rule == "min_group_size" and f"fewer than {MIN_GROUP}" in err.reason
    hist = plan_of("SELECT HISTOGRAM(income, 0, 1000, 1000) FROM data GROUP BY region")  # ~1 row per bin
    assert refused(coord_key, guarded, hist, noised(hist)).rule == "min_group_size"


def test_a_node_running_another_policy_than_registered_is_refused(guarded: Cluster,
                                                                  coord_key: Ed25519PrivateKey) -> None:
    plan = plan_of("SELECT COUNT(*) FROM data GROUP BY region")
    eps = endpoints(guarded)
    eps[1] = ProviderEndpoint(eps[1].id, eps[1].url, eps[1].public_key_hex, "ab" * 32)
    with pytest.raises(PolicyMismatch) as info:
        run(coord_key, guarded, plan, noised(plan), eps)
    assert info.value.node == "p1" and info.value.rule == "registered_policy"
    assert "ab" * 32 in info.value.detail and read_policy_hash(guarded.nodes[1].key_dir) in info.value.detail


def test_the_daily_limit_holds_across_restarts(data_files: list[Path], coord_key: Ed25519PrivateKey,
                                               tmp_path: Path) -> None:
    cluster = policy_cluster(data_files[:1], tmp_path, coord_key, limit=2)
    plan = plan_of("SELECT COUNT(*) FROM data GROUP BY level")
    try:
        for _ in range(2):
            assert run(coord_key, cluster, plan, noised(plan)).participants == ["p0"]
        assert refused(coord_key, cluster, plan, noised(plan)).rule == "daily_limit"
        cluster.stop()
        cluster = start_cluster(data_files[:1], tmp_path, public_key_hex(coord_key))  # same key dir
        err = refused(coord_key, cluster, plan, noised(plan))
        assert err.rule == "daily_limit" and "at most 2 queries per day" in err.reason
    finally:
        cluster.stop()


def start_failure(data: Path, key_dir: Path, coord: Ed25519PrivateKey) -> str:
    """Start a node that must not come up; its error output."""
    cmd = [sys.executable, "-m", "privacy.provider", "--data", str(data), "--id", "p0", "--port",
           str(free_port()), "--key-dir", str(key_dir), "--coordinator-key", public_key_hex(coord)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=60)
    assert proc.returncode != 0 and proc.stdout == b""
    return proc.stderr.decode()


def test_a_tampered_or_foreign_policy_stops_the_node(data_files: list[Path], coord_key: Ed25519PrivateKey,
                                                     tmp_path: Path) -> None:
    key_dir = tmp_path / "keys-p0"
    write_signed_policy(key_dir, "p0")
    doc = read_document(key_dir / "policy.json")
    doc["body"]["min_group_size"] = 1  # loosened without the node key
    write_document(key_dir / "policy.json", doc)
    assert "policy signature invalid" in start_failure(data_files[0], key_dir, coord_key)
    other = policy_from_body(policy_body("p0"))
    write_document(key_dir / "policy.json", sign_policy(other, Ed25519PrivateKey.generate()))
    assert "policy signature invalid" in start_failure(data_files[0], key_dir, coord_key)
    wrong_node = policy_from_body(policy_body("p9"))
    write_document(key_dir / "policy.json", sign_policy(wrong_node, load_or_create_identity(key_dir)))
    assert "not signed by p0" in start_failure(data_files[0], key_dir, coord_key)


@pytest.mark.parametrize(("change", "problem"), [
    ({"max_rho_per_query": 0}, "max_rho_per_query must be positive"),
    ({"min_group_size": 0}, "min_group_size must be an integer >= 1"),
    ({"daily_query_limit": True}, "daily_query_limit must be an integer"),
    ({"dataset": "../x"}, "dataset a name"),
    ({"extra": 1}, "policy fields must be exactly"),
])
def test_malformed_policies_name_the_problem(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyFormatError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        policy_from_body({**policy_body("p0"), **change})


@pytest.mark.parametrize(("column", "problem"), [
    ({"name": "region", "type": "category", "uses": ["group_by"]}, "group_by needs a public domain"),
    ({"name": "region", "type": "category", "uses": ["aggregate"]}, "cannot be aggregated"),
    ({"name": "age", "type": "int", "lo": 5, "hi": 1, "uses": []}, "lo must be <= hi"),
    ({"name": "age", "type": "int", "lo": 0, "hi": 9, "uses": ["sort"]}, "uses must be distinct values"),
])
def test_malformed_columns_name_the_problem(column: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyFormatError, match=problem):
        policy_from_body({**policy_body("p0"), "columns": [column]})
