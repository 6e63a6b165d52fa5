"""Where a node's rows live: a CSV/Parquet file (DuckDB in memory) or a PostgreSQL table (pushed down)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from privacy.plan import Plan
from privacy.provider.local import LocalData
from privacy.provider.postgres import PostgresSource, is_postgres


class DataSource(Protocol):
    """What the node needs of its rows: the column names, and a plan's integer vector."""

    columns: set[str]

    def compute(self, plan: Plan, units: list[int]) -> list[int]: ...


def open_source(data: Path | str) -> DataSource:
    """``postgresql://...#[schema.]table`` is a :class:`PostgresSource`; anything else a data file."""
    if isinstance(data, str) and is_postgres(data):
        return PostgresSource(data)
    return LocalData(Path(data))
