"""Expected rows: column values with the record or transaction each one comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.verify import Divergence


@dataclass(frozen=True)
class Source:
    """Where an expected value comes from: a record (seq) or a chain event (tx hash, block, log index)."""

    record: int | None = None
    tx: str | None = None
    block: int = 0
    log_index: int = 0
    event: str = ""


@dataclass
class Row:
    """What one row must hold, column by column, and what created it."""

    origin: Source
    columns: dict[str, tuple[Any, Source]] = field(default_factory=dict)


class Facts:
    """Expected rows per table, keyed by database id (records) or chain id hex (chain)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Row]] = {}

    def row(self, table: str, key: str) -> Row | None:
        return self.tables.get(table, {}).get(key)

    def set(self, table: str, key: str, source: Source, **columns: Any) -> None:
        """Set columns of a row (created by `source` when new)."""
        rows = self.tables.setdefault(table, {})
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(source)
        row.columns.update((name, (value, source)) for name, value in columns.items())

    def update(self, table: str, key: str, source: Source, **columns: Any) -> None:
        """Set columns of a row only if it exists (a later act about a row no record created is ignored here:
        the row itself is then unrecorded, or missing)."""
        if self.row(table, key) is not None:
            self.set(table, key, source, **columns)

    def add(self, table: str, key: str, source: Source, **deltas: int) -> None:
        """Add to integer columns of an existing row (spends, redemptions)."""
        row = self.row(table, key)
        if row is None:
            return
        for name, delta in deltas.items():
            value, _ = row.columns.get(name, (0, source))
            row.columns[name] = (int(value or 0) + delta, source)


def norm(value: Any) -> Any:
    """Comparable form: tuples as lists, recursively."""
    if isinstance(value, list | tuple):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    return value


def mismatch(table: str, row: int | str | None, column: str, actual: Any, expected: Any, source: Source,
             against: str) -> Divergence:
    """A column whose database value differs from what `against` (the records, the chain) says."""
    return Divergence("row_mismatch", table, row, column, None,
                      f"database {actual!r}, {against} {expected!r}", record=source.record, tx=source.tx)
