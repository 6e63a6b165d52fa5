"""A provider node whose rows live in PostgreSQL: the plan pushed down gives exactly the file path's vector.

The same rows go into a CSV file (the file node's DuckDB) and into a PostgreSQL table; every plan below must
give identical vectors from both, including NULLs, clipping, rounding ties, empty groups and histograms.
Needs a real PostgreSQL (``PROVEX_TEST_POSTGRES_URL``, as CI sets it); those tests skip without one.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator
from privacy.errors import ComputeRefused, PolicyRefused, ProviderRefused
from privacy.plan import Aggregate, ColumnSpec, Cond, Plan
from privacy.provider.enforce import check_cells
from privacy.provider.local import LocalData
from privacy.provider.postgres import PostgresSource, SourceError, parse_source
from privacy.secagg.crypto import public_key_hex
from privacy.sql import parse_query
from tests.privacy.cluster import ROOT, start_cluster

PG_URL = os.environ.get("PROVEX_TEST_POSTGRES_URL")

REGIONS = ["north", "south", "east", "west"]
COLUMNS = [
    ColumnSpec("age", "int", 0, 99),
    ColumnSpec("score", "int", -50, 50),
    ColumnSpec("income", "float", 0, 1000, decimals=2),
    ColumnSpec("price", "float", -10.5, 10.5, decimals=1),
    ColumnSpec("region", "category", domain=REGIONS),
    ColumnSpec("level", "int", 1, 3, domain=[1, 2, 3]),
]
# the integer column declared as a float with fractional bounds (clipped values round in exact decimals)
FRACTIONAL_AGE = [ColumnSpec("age", "float", 0.285, 98.5, decimals=2), *COLUMNS[1:]]
PG_TYPES = {"age": "integer", "score": "bigint", "income": "double precision", "price": "numeric(12,4)",
            "region": "text", "level": "smallint"}
EVIL = 'x"; DROP TABLE evil; --'

QUERIES = [
    "SELECT COUNT(*), COUNT(income), SUM(income), AVG(age), VAR(income), STDDEV(score), SUM(price) FROM t",
    "SELECT COUNT(*), SUM(income), VAR(price), AVG(score), region, level FROM t "
    "WHERE age BETWEEN 10 AND 80 AND (income > 100.5 OR region IN ('north', 'east')) GROUP BY region, level",
    "SELECT HISTOGRAM(income, 0, 1000, 16), HISTOGRAM(age, 0, 100, 10), HISTOGRAM(score, -50.5, 50, 7), "
    "HISTOGRAM(price, -10.5, 10.5, 8), region FROM t GROUP BY region",
    "SELECT COUNT(*), SUM(income), HISTOGRAM(age, 0, 100, 4), level FROM t WHERE region = 'nowhere' GROUP BY level",
    "SELECT COUNT(score), SUM(score), COUNT(region) FROM t WHERE score != 3 AND price <= 2.25",
    "SELECT SUM(price), COUNT(*) FROM t WHERE price = 1.5 OR price IN (-2.25, 3) OR income >= 999.995",
    "SELECT MEDIAN(price), MIN(age), QUANTILE(income, 0.9), MAX(score), level FROM t GROUP BY level",
    "SELECT LINREG(income, age, price, score) FROM t WHERE region != 'east'",  # complete cases, cross-products
]


def _rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Rows with NULLs, values outside the bounds and outside the domains, and rounding ties."""
    rng = random.Random(seed)

    def maybe(v: Any) -> Any:
        return None if rng.random() < 0.08 else v

    ties = [0.285, 1.005, 2.675, 0.125, 999.995, 1000.004, -0.005]
    rows = []
    for _ in range(n):
        income = rng.choice(ties) if rng.random() < 0.2 else rng.randint(-5000, 1005000) / 1000
        rows.append({"age": maybe(rng.randint(-3, 120)), "score": maybe(rng.randint(-60, 60)),
                     "income": maybe(income), "price": maybe(rng.randint(-120000, 120000) / 10000),
                     "region": maybe(rng.choice([*REGIONS, "central"])), "level": maybe(rng.randint(1, 4))})
    rows += [{"age": 0, "score": 0, "income": 0.285, "price": 1.5, "region": "north", "level": 1}] * 3
    return rows


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(PG_TYPES))
        for r in rows:
            w.writerow(["" if r[c] is None else r[c] for c in PG_TYPES])
    return path


@pytest.fixture(scope="module")
def pg() -> Iterator[tuple[str, str]]:
    """(DSN, a fresh schema name), dropped at the end."""
    if not PG_URL:
        pytest.skip("PROVEX_TEST_POSTGRES_URL not set")
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"pgnode_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield dsn, schema
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def sources(pg: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalData, PostgresSource]:
    """The same rows as a CSV file (DuckDB) and as a PostgreSQL table."""
    dsn, schema = pg
    rows = _rows(400, seed=7)
    path = _csv(tmp_path_factory.mktemp("pgnode") / "rows.csv", rows)
    cols = ", ".join(f"{c} {t}" for c, t in PG_TYPES.items())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".rows ({cols})')
        with conn.cursor() as cur:
            cur.executemany(f'INSERT INTO "{schema}".rows VALUES ({", ".join(["%s"] * len(PG_TYPES))})',
                            [[r[c] for c in PG_TYPES] for r in rows])
    return LocalData(path), PostgresSource(f"{PG_URL}#{schema}.rows")


def _units(plan: Plan, unit: int) -> list[int]:
    return [unit if c.stat in ("sum", "sumsq", "xprod") else 1 for c in plan.components()]


@pytest.mark.parametrize("columns", [COLUMNS, FRACTIONAL_AGE], ids=["declared", "fractional_age"])
@pytest.mark.parametrize("unit", [1, 7])
def test_pushdown_equals_file_path(sources: tuple[LocalData, PostgresSource], columns: list[ColumnSpec],
                                   unit: int) -> None:
    local, remote = sources
    plans = [parse_query(q, columns) for q in QUERIES]
    exact = parse_query("SELECT COUNT(*), SUM(income), region FROM t WHERE level != 9 GROUP BY region", columns)
    plans.append(dataclasses.replace(exact, in_domain=("level", "region")))
    for plan in plans:
        units = _units(plan, unit)
        expected = local.compute(plan, units)
        assert remote.compute(plan, units) == expected, plan.canonical()
    # not vacuous: the rows were clipped, rounded, grouped and counted
    total = local.compute(plans[0], _units(plans[0], 1))
    assert total[0] == 403 and 0 < total[1] < 403


def test_node_policy_checks_the_same_cells(sources: tuple[LocalData, PostgresSource]) -> None:
    local, remote = sources
    plan = parse_query("SELECT COUNT(*), SUM(income), region, level FROM t GROUP BY region, level", COLUMNS)
    check_cells(plan, remote.compute, 5)
    for source in (local, remote):
        with pytest.raises(PolicyRefused) as e:
            check_cells(plan, source.compute, 40)
        assert e.value.rule == "min_group_size"


def test_identifiers_are_quoted_and_the_transaction_is_read_only(pg: tuple[str, str]) -> None:
    dsn, schema = pg
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".evil ("{EVIL.replace(chr(34), chr(34) * 2)}" integer, tag text)')
        conn.execute(f'INSERT INTO "{schema}".evil VALUES (4, %s), (5, %s), (NULL, %s)', ["a'b", "c", "a'b"])
    src = PostgresSource(f"{PG_URL}#{schema}.evil")
    assert src.columns == {EVIL, "tag"}
    plan = Plan(aggregates=(Aggregate("sum", EVIL, "s"), Aggregate("count", None, "n")), group_by=(),
                where=Cond("cmp", column="tag", cmp="=", values=("a'b",)),
                columns=(ColumnSpec(EVIL, "int", 0, 10), ColumnSpec("tag", "category", domain=["a'b", "c"])))
    # lanes: count_star, sum, count(col)
    assert src.compute(plan, [1, 1, 1]) == [2, 4, 1]
    with pytest.raises(ComputeRefused, match="read-only transaction"):
        src._run([f'CREATE TABLE "{schema}".written (x int)'])
    with pytest.raises(ComputeRefused, match="literal True"):
        src.compute(dataclasses.replace(plan, where=Cond("cmp", column="tag", cmp="=", values=(True,))), [1, 1, 1])
    with pytest.raises(ComputeRefused, match="declared numeric"):
        src.compute(dataclasses.replace(plan, columns=(plan.columns[0], ColumnSpec("tag", "int", 0, 1))), [1, 1, 1])
    with psycopg.connect(dsn) as conn:  # nothing was dropped or written
        assert conn.execute(f'SELECT COUNT(*) FROM "{schema}".evil').fetchone() == (3,)
        assert conn.execute("SELECT to_regclass(%s)", [f"{schema}.written"]).fetchone() == (None,)


def test_bad_sources_are_refused_at_start(tmp_path: Path) -> None:
    """Malformed specs and an unreachable database stop the node at start with a clear message."""
    with pytest.raises(SourceError, match="name the table"):
        parse_source("postgresql://u@127.0.0.1:1/db")
    with pytest.raises(SourceError, match=r"expected \[schema\.\]table"):
        parse_source("postgresql://u@127.0.0.1:1/db#a.b.c")
    cli = [sys.executable, "-m", "api.cli", "provider", "serve", "--id", "n1", "--port", "1",
           "--key-dir", str(tmp_path), "--coordinator-key", "00" * 32]
    out = subprocess.run([*cli, "--source", "postgresql://nobody:secret@127.0.0.1:1/db#t"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    said = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 2 and "did not start" in said and "127.0.0.1:1/db cannot be reached" in said
    assert "secret" not in said


def test_a_missing_table_is_refused_at_start(pg: tuple[str, str]) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        PostgresSource(f"{PG_URL}#{pg[1]}.missing")


@pytest.fixture
def reader(pg: tuple[str, str], sources: tuple[LocalData, PostgresSource]) -> Iterator[str]:
    """A login role that may only read the rows table: its DSN."""
    dsn, schema = pg
    role = f"pgnode_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON "{schema}".rows TO "{role}"')
    yield role
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')


def test_node_on_postgres_answers_as_the_file_node(pg: tuple[str, str], sources: tuple[LocalData, PostgresSource],
                                                   reader: str, tmp_path: Path) -> None:
    """Real nodes: p0 and p2 on the CSV, p1 on the table as a SELECT-only role; the secure sums of (p0, p1) and
    of (p0, p2) are identical. The database refusing logins is a clear refusal by p1, which stays up and
    answers again once it may log in."""
    assert PG_URL
    dsn, schema = pg
    local, _ = sources
    key = Ed25519PrivateKey.generate()
    role_url = PG_URL.replace("postgres@", f"{reader}@", 1)
    cluster = start_cluster([local.path, f"{role_url}#{schema}.rows", local.path], tmp_path, public_key_hex(key))
    p0, p1, p2 = cluster.endpoints()
    plan = parse_query("SELECT COUNT(*), SUM(income), VAR(price), HISTOGRAM(age, 0, 100, 4), region FROM t "
                       "WHERE score < 40 GROUP BY region", COLUMNS)

    def run(endpoints: list[Any]) -> list[dict[str, Any]]:
        coord = Coordinator(key, endpoints, threshold=2, timeout=20)
        result = asyncio.run(coord.run(plan, no_noise(plan), min_group_size=1))
        return [g.to_dict() for g in result.groups]

    try:
        files = run([p0, p2])
        assert run([p0, p1]) == files
        assert sum(g["count"] for g in files) > 0
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{reader}" NOLOGIN')
        with pytest.raises(ProviderRefused) as e:
            run([p0, p1])
        assert list(e.value.nodes) == ["p1"] and "provider_source_unavailable" in e.value.nodes["p1"]
        assert httpx.get(cluster.nodes[1].url + "/identity", timeout=5).status_code == 200
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{reader}" LOGIN')
        assert run([p0, p1]) == files
    finally:
        cluster.stop()
