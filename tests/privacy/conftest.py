"""Fixtures: synthetic provider data, a coordinator key, real provider processes."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.plan import ColumnSpec
from privacy.secagg.crypto import public_key_hex
from tests.privacy.cluster import Cluster, start_cluster

REGIONS = ["north", "south", "east", "west"]
COLUMNS = [
    ColumnSpec("age", "int", 0, 99),
    ColumnSpec("score", "int", -50, 50),
    ColumnSpec("income", "float", 0, 1000, decimals=2),
    ColumnSpec("region", "category", domain=REGIONS),
    ColumnSpec("level", "int", 1, 3, domain=[1, 2, 3]),
]


def write_provider_data(path: Path, rows: int, seed: int) -> Path:
    """Rows within declared bounds; some NULL incomes; each income has 2 decimals."""
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["age", "score", "income", "region", "level"])
        for _ in range(rows):
            income = "" if rng.random() < 0.1 else f"{rng.randint(0, 99999) / 100:.2f}"
            w.writerow([rng.randint(0, 99), rng.randint(-50, 50), income,
                        rng.choice(REGIONS), rng.randint(1, 3)])
    if seed % 2 == 1:  # exercise the Parquet loader too
        pq = path.with_suffix(".parquet")
        duckdb.sql(f"COPY (SELECT * FROM read_csv_auto('{path}')) TO '{pq}' (FORMAT parquet)")
        return pq
    return path


@pytest.fixture(scope="session")
def coord_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("provider-data")
    return [write_provider_data(d / f"p{i}.csv", 150 + 20 * i, seed=i) for i in range(4)]


@pytest.fixture(scope="session")
def cluster(
    data_files: list[Path], coord_key: Ed25519PrivateKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    c = start_cluster(data_files, tmp_path_factory.mktemp("cluster"), public_key_hex(coord_key))
    yield c
    c.stop()


@pytest.fixture
def small_cluster(
    data_files: list[Path], coord_key: Ed25519PrivateKey, tmp_path: Path
) -> Iterator[Cluster]:
    """Three fresh nodes (t = 2) that a test may kill."""
    c = start_cluster(data_files[:3], tmp_path, public_key_hex(coord_key))
    yield c
    c.stop()


def union_sql(files: list[Path]) -> str:
    parts = [
        f"SELECT age, score, income, region, level FROM "
        f"{'read_parquet' if str(f).endswith('.parquet') else 'read_csv_auto'}('{f}')"
        for f in files
    ]
    return "(" + " UNION ALL ".join(parts) + ")"
