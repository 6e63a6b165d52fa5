"""Local aggregate of a plan over the provider's own rows, as an integer vector.

SQL semantics: NULLs are skipped by every per-column statistic (they never reach the clipping),
COUNT(col) counts non-NULL values; a LINREG plan counts only the rows holding all its columns (complete
cases). A number is clipped to its column's bounds and rounded to the declared decimals half away from
zero (DuckDB's ``ROUND``) before it is summed in fixed point.
A DuckDB error while computing becomes a :class:`~privacy.errors.ComputeRefused` (a clear 400),
and a connection the error left unusable is rebuilt from the data file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb

from privacy.errors import ComputeRefused
from privacy.plan import MAX_ROWS_PER_PROVIDER, Component, Cond, Plan
from privacy.provider.bounding import duckdb_bounded

TABLE = "data"
BOUNDED = "bounded_rows"
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")


def _group(gindex: dict[tuple[Any, ...], int], key: tuple[Any, ...]) -> int | None:
    gi = gindex.get(tuple(key))
    if gi is None:
        gi = gindex.get(tuple(str(k) for k in key))
    return gi


HistRows = list[tuple[int, Component, list[tuple[Any, ...]]]]


def cells_from_rows(plan: Plan, rows: list[tuple[Any, ...]], hist_rows: HistRows) -> list[int]:
    """The plan's vector from the aggregate rows of a data source: ``rows`` are (group keys..., each
    non-histogram lane family's value in layout order); ``hist_rows`` per histogram component index, its
    (group keys..., bin, count) rows. Groups outside the public domains are dropped."""
    layout = plan.layout()
    gindex = {g: i for i, g in enumerate(layout.groups)}
    scalar = [i for i, c in enumerate(layout.components) if c.stat != "hist"]
    ng = len(plan.group_by)
    cells: list[tuple[int, int, int, int]] = []
    for row in rows:
        gi = _group(gindex, row[:ng])
        if gi is None:
            continue
        for ci, value in zip(scalar, row[ng:], strict=True):
            cells.append((gi, ci, 0, int(value or 0)))
    for ci, comp, hrows in hist_rows:
        for row in hrows:
            gi = _group(gindex, row[:ng])
            b = row[ng]
            if gi is None or b is None or comp.bins is None or not 0 <= int(b) < comp.bins:
                continue
            cells.append((gi, ci, int(b), int(row[ng + 1])))
    return layout.encode(cells)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class LocalData:
    """Raw rows in an in-process DuckDB database; only aggregates ever leave this class."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con = self._load()
        cols = self._con.execute(f"DESCRIBE {TABLE}").fetchall()
        self.types = {str(c[0]): str(c[1]).upper() for c in cols}
        self.columns = set(self.types)
        (rows,) = self._con.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone() or (0,)
        if rows > MAX_ROWS_PER_PROVIDER:
            raise ValueError(f"{rows} rows: a provider may hold at most 2^32 rows per dataset")

    def _load(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        src = str(self.path)
        reader = "read_parquet" if src.lower().endswith((".parquet", ".pq")) else "read_csv_auto"
        con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM {reader}(?)", [src])
        return con

    def check_plan(self, plan: Plan) -> None:
        names = [c.name for c in plan.columns] + ([plan.privacy_unit.column] if plan.privacy_unit else [])
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise ComputeRefused(f"columns not held by this provider: {missing}")
        for c in plan.columns:
            if c.numeric and not self.types[c.name].startswith(_NUMERIC):
                raise ComputeRefused(f"column {c.name} is declared numeric but this provider holds "
                                     f"it as {self.types[c.name]}")

    def compute(self, plan: Plan, units: list[int]) -> list[int]:
        """The plan's vector (groups x component lanes) over local rows, clipped and encoded."""
        self.check_plan(plan)
        try:
            return self._compute(plan, units)
        except duckdb.Error as e:
            self._heal()
            raise ComputeRefused(f"the provider could not compute this plan: {str(e)[:200]}") from None

    def _heal(self) -> None:
        """Rebuild the connection if the failed statement left it unusable."""
        with self._lock:
            try:
                self._con.execute("SELECT 1").fetchall()
            except duckdb.Error:
                self._con = self._load()

    def _compute(self, plan: Plan, units: list[int]) -> list[int]:
        comps = plan.layout().components
        filtered, params = self._where(plan)
        where = f"{TABLE} WHERE {filtered}"
        gcols = [_q(g) for g in plan.group_by]
        scalar = [(i, c) for i, c in enumerate(comps) if c.stat != "hist"]
        exprs = [self._expr(plan, c, units[i]) for i, c in scalar]
        with self._lock:
            if plan.privacy_unit is not None:  # each ID bounded after the filter, one draw for every lane
                self._con.execute(f"CREATE OR REPLACE TEMP TABLE {BOUNDED} AS SELECT * FROM "
                                  f"{duckdb_bounded(plan.privacy_unit, plan.group_by, where)}", params)
                where, params = f"{BOUNDED} WHERE TRUE", []
            sql = f"SELECT {', '.join([*gcols, *exprs])} FROM {where}"
            if gcols:
                sql += f" GROUP BY {', '.join(gcols)}"
            try:
                rows = self._con.execute(sql, params).fetchall()
                hist_rows = [
                    (i, c, self._con.execute(self._hist_sql(plan, c, where), params).fetchall())
                    for i, c in enumerate(comps)
                    if c.stat == "hist"
                ]
            finally:
                if plan.privacy_unit is not None:
                    self._con.execute(f"DROP TABLE IF EXISTS {BOUNDED}")
        return cells_from_rows(plan, rows, hist_rows)

    def _clipped(self, plan: Plan, column: str) -> str:
        spec = plan.column(column)  # GREATEST/LEAST skip NULLs, so NULL must be kept out explicitly
        col = _q(column)
        return f"(CASE WHEN {col} IS NULL THEN NULL ELSE LEAST(GREATEST({col}, {spec.lo!r}), {spec.hi!r}) END)"

    def _expr(self, plan: Plan, comp: Component, unit: int) -> str:
        if comp.stat == "count_star":
            return "COUNT(*)"
        assert comp.column is not None
        if comp.stat == "count":
            return f"COUNT({_q(comp.column)})"
        fixed = self._fixed(plan, comp.column)
        if comp.stat == "sum":
            per_row = fixed if unit == 1 else f"ROUND(CAST({fixed} AS DOUBLE) / {unit})"
        else:
            other = fixed if comp.stat == "sumsq" else self._fixed(plan, str(comp.other))
            sq = f"({fixed} * {other})"
            per_row = sq if unit == 1 else f"ROUND(CAST({sq} AS DOUBLE) / {unit})"
        return f"SUM(CAST({per_row} AS HUGEINT))"

    def _fixed(self, plan: Plan, column: str) -> str:
        """A value clipped and encoded in fixed point (``round(v * scale)``)."""
        return f"CAST(ROUND({self._clipped(plan, column)} * {plan.column(column).scale}) AS HUGEINT)"

    def _hist_sql(self, plan: Plan, comp: Component, where: str) -> str:
        """``where``: the relation and its filter (``<table> WHERE <cond>``)."""
        assert comp.column is not None and comp.bins is not None
        lo, hi, bins = float(comp.lo or 0), float(comp.hi or 0), comp.bins
        spec = plan.column(comp.column)
        x = f"ROUND({self._clipped(plan, comp.column)}, {int(spec.decimals or 0)})"
        b = f"LEAST(GREATEST(FLOOR(({x} - {lo!r}) / {hi - lo!r} * {bins}), 0), {bins - 1})"
        gcols = [_q(g) for g in plan.group_by]
        sel = ", ".join([*gcols, f"CAST({b} AS BIGINT) AS b", f"COUNT({_q(comp.column)})"])
        group = ", ".join([*gcols, "b"])
        notnull = f"{_q(comp.column)} IS NOT NULL"
        return f"SELECT {sel} FROM {where} AND {notnull} GROUP BY {group}"

    def _where(self, plan: Plan) -> tuple[str, list[Any]]:
        params: list[Any] = []
        parts = []
        if plan.where is not None:
            parts.append(self._cond(plan.where, params))
        for g in plan.group_by:  # values outside the public domain are dropped on mapping
            parts.append(f"{_q(g)} IS NOT NULL")
        for name in plan.complete:  # LINREG: complete cases only
            parts.append(f"{_q(name)} IS NOT NULL")
        for name in plan.in_domain:  # exact products: rows outside the public domains are not data
            domain = plan.column(name).domain or ()
            params.extend(domain)
            parts.append(f"{_q(name)} IN ({', '.join('?' for _ in domain)})")
        return (" AND ".join(f"({p})" for p in parts) or "TRUE"), params

    def _cond(self, cond: Cond, params: list[Any]) -> str:
        if cond.op in ("and", "or"):
            return f" {cond.op.upper()} ".join(f"({self._cond(a, params)})" for a in cond.args)
        assert cond.column is not None
        if cond.op == "cmp" and cond.cmp not in ("=", "!=", "<", "<=", ">", ">="):
            raise ValueError(f"unknown comparison {cond.cmp!r}")
        col = _q(cond.column)
        params.extend(cond.values)
        if cond.op == "cmp":
            return f"{col} {cond.cmp} ?"
        if cond.op == "in":
            return f"{col} IN ({', '.join('?' for _ in cond.values)})"
        if cond.op == "between":
            return f"{col} BETWEEN ? AND ?"
        raise ValueError(f"unknown condition {cond.op}")
