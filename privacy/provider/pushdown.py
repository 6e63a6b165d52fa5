"""A plan as PostgreSQL statements: built as sqlglot trees, rendered in the ``postgres`` dialect.

The statements compute, inside the database, exactly the vector :class:`~privacy.provider.local.LocalData`
computes with DuckDB over the same rows in a CSV file (the file path is the reference):

* a ``double precision``/``real``/``numeric`` column is computed as DuckDB computes a CSV's DOUBLE column:
  cast to double, clipped, multiplied by the scale and rounded half away from zero in double precision
  (C ``round``, written with ``TRUNC`` and ``SIGN``: PostgreSQL's own ``round(double)`` rounds half to even);
* an integer column as DuckDB computes a BIGINT column against decimal literals: exactly, in ``numeric``
  (``round(numeric)`` rounds half away from zero, as DuckDB's DECIMAL ``ROUND``);
* sums are exact ``numeric`` (DuckDB's HUGEINT), a sum quantised by ``unit`` rounds ``value / unit`` in double.

Identifiers (the table, every column) are quoted by sqlglot, never pasted; literals are sqlglot literals
(strings quoted and escaped) and must be finite numbers or strings. Three levels: the filtered rows with
each used column clipped (``x<k>``), their fixed-point and rounded values (``f<k>``, ``h<k>``), and the
aggregates over them; only the aggregates leave the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from privacy.errors import ComputeRefused
from privacy.plan import Component, Cond, Plan
from privacy.provider.bounding import postgres_bounded, salt

INTEGER_TYPES = ("int2", "int4", "int8")
NUMBER_TYPES = (*INTEGER_TYPES, "float4", "float8", "numeric")
DOUBLE = "DOUBLE"
NUMERIC = "DECIMAL"
ID_ALIAS = "pid"


def _literal(value: Any) -> exp.Expr:
    if isinstance(value, bool) or not isinstance(value, int | float | str) \
            or (isinstance(value, float) and not math.isfinite(value)):
        raise ComputeRefused(f"literal {value!r} is not a finite number or a string")
    return exp.Literal.string(value) if isinstance(value, str) else exp.convert(value)


def _double(value: float | int) -> exp.Expr:
    return exp.cast(_literal(value), DOUBLE)


def _decimal_literal(value: float | int) -> bool:
    """DuckDB reads ``repr(value)`` as an integer or a DECIMAL, not a DOUBLE (no exponent)."""
    return "e" not in repr(value).lower()


def _round_away(x: exp.Expr) -> exp.Expr:
    """C ``round`` of a double: half away from zero (``x - TRUNC(x)`` is exact in double precision)."""
    t = exp.Anonymous(this="TRUNC", expressions=[x.copy()])
    frac = exp.Abs(this=exp.Sub(this=x.copy(), expression=t.copy()))
    up = exp.Add(this=t.copy(), expression=exp.Sign(this=x.copy()))
    return exp.Case(ifs=[exp.If(this=exp.GTE(this=frac, expression=_double(0.5)), true=up)], default=t)


def _least_greatest(x: exp.Expr, lo: exp.Expr, hi: exp.Expr) -> exp.Expr:
    return exp.Least(this=exp.Greatest(this=x, expressions=[lo]), expressions=[hi])


def _count(arg: exp.Expr) -> exp.Expr:
    return exp.Count(this=arg)


def _sum_numeric(x: exp.Expr) -> exp.Expr:
    return exp.Sum(this=exp.cast(x, NUMERIC))


def _subquery(query: exp.Select, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _ref(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


@dataclass(frozen=True)
class Column:
    """How one aggregated column is computed: its alias index and arithmetic (``exact`` = numeric)."""

    index: int
    name: str
    exact: bool


class Pushdown:
    """The statements of one plan against ``table`` whose columns have the PostgreSQL ``types`` given
    (type names as ``pg_type.typname``: int4, float8, numeric, text, ...)."""

    def __init__(self, plan: Plan, units: list[int], table: exp.Table, types: dict[str, str]) -> None:
        self.plan, self.units, self.table, self.types = plan, units, table, types
        self.comps = plan.layout().components
        names = sorted({n for c in self.comps for n in (c.column, c.other) if n is not None})
        self.cols = {n: Column(i, n, self._exact(n)) for i, n in enumerate(names)}
        self.ng = len(plan.group_by)
        self.key = salt()  # one draw of the rows each privacy ID keeps, for all the plan's statements

    def _exact(self, name: str) -> bool:
        spec = self.plan.column(name)
        return (spec.numeric and self.types.get(name) in INTEGER_TYPES
                and _decimal_literal(spec.lo or 0) and _decimal_literal(spec.hi or 0))

    # ---------------------------------------------------------------- levels 1 and 2: the rows
    def _clipped(self, col: Column) -> exp.Expr:
        spec = self.plan.column(col.name)
        assert spec.lo is not None and spec.hi is not None
        raw = exp.column(col.name, quoted=True)
        x: exp.Expr
        lo: exp.Expr
        hi: exp.Expr
        if col.exact:
            x, lo, hi = raw, exp.cast(_literal(spec.lo), NUMERIC), exp.cast(_literal(spec.hi), NUMERIC)
        else:
            x, lo, hi = exp.cast(raw, DOUBLE), _double(spec.lo), _double(spec.hi)
        return exp.Case(ifs=[exp.If(this=exp.Is(this=raw.copy(), expression=exp.Null()), true=exp.Null())],
                        default=_least_greatest(x, lo, hi))

    def _rows(self) -> exp.Select:
        """Level 1: the filtered rows, group keys ``g<i>``, raw values ``v<k>``, clipped ``x<k>``."""
        sel = [exp.alias_(exp.column(g, quoted=True), f"g{i}", quoted=True) for i, g in enumerate(self.plan.group_by)]
        for col in self.cols.values():
            sel.append(exp.alias_(exp.column(col.name, quoted=True), f"v{col.index}", quoted=True))
            if self.plan.column(col.name).numeric:
                sel.append(exp.alias_(self._clipped(col), f"x{col.index}", quoted=True))
        if self.plan.privacy_unit is not None:
            sel.append(exp.alias_(exp.column(self.plan.privacy_unit.column, quoted=True), ID_ALIAS, quoted=True))
        return exp.select(*sel).from_(self.table.copy()).where(self._where())

    def _bounded(self) -> exp.Select:
        """Level 1, each privacy ID's contribution bounded (:mod:`privacy.provider.bounding`)."""
        rows = self._rows()
        unit = self.plan.privacy_unit
        return rows if unit is None else postgres_bounded(rows, unit, self.ng, ID_ALIAS, self.key)

    def _fixed(self) -> exp.Select:
        """Level 2: level 1 plus each numeric column's fixed-point value ``f<k>`` and its value rounded to
        the declared decimals ``h<k>`` (histograms)."""
        sel: list[exp.Expr] = [exp.Star()]
        for col in self.cols.values():
            spec = self.plan.column(col.name)
            if not spec.numeric:
                continue
            x = _ref(f"x{col.index}")
            d = int(spec.decimals or 0)
            f: exp.Expr
            h: exp.Expr
            if col.exact:
                f = exp.Round(this=exp.Mul(this=x, expression=exp.convert(spec.scale)))
                h = exp.Round(this=x.copy(), decimals=exp.convert(d))
            else:
                f = _round_away(exp.Mul(this=x, expression=_double(spec.scale)))
                mod = _double(10.0 ** d)
                h = exp.Div(this=_round_away(exp.Mul(this=x.copy(), expression=mod)), expression=mod.copy())
            sel += [exp.alias_(f, f"f{col.index}", quoted=True), exp.alias_(h, f"h{col.index}", quoted=True)]
        return exp.select(*sel).from_(_subquery(self._bounded(), "r"))

    def _source(self) -> exp.Subquery:
        return _subquery(self._fixed(), "s")

    def _groups(self) -> list[exp.Expr]:
        return [_ref(f"g{i}") for i in range(self.ng)]

    # ---------------------------------------------------------------- level 3: the aggregates
    def _expr(self, comp: Component, unit: int) -> exp.Expr:
        if comp.stat == "count_star":
            return exp.Count(this=exp.Star())
        assert comp.column is not None
        k = self.cols[comp.column].index
        if comp.stat == "count":
            return _count(_ref(f"v{k}"))
        f = _ref(f"f{k}")
        if comp.stat == "sum":
            per_row: exp.Expr = f if unit == 1 else _round_away(
                exp.Div(this=exp.cast(f, DOUBLE), expression=_double(unit)))
        else:
            g = f.copy() if comp.stat == "sumsq" else _ref(f"f{self.cols[str(comp.other)].index}")
            sq = exp.Mul(this=exp.cast(f, NUMERIC), expression=exp.cast(g, NUMERIC))
            per_row = sq if unit == 1 else _round_away(exp.Div(this=exp.cast(sq, DOUBLE), expression=_double(unit)))
        return _sum_numeric(per_row)

    def scalar_sql(self) -> str:
        """One row per group: the plan's non-histogram lane families, in layout order."""
        aggs = [self._expr(c, self.units[i]) for i, c in enumerate(self.comps) if c.stat != "hist"]
        q = exp.select(*self._groups(), *aggs).from_(self._source())
        if self.ng:
            q = q.group_by(*self._groups())
        return q.sql(dialect="postgres")

    def hist_sql(self, comp: Component) -> str:
        """Rows (group keys, bin, count) of one histogram, as :meth:`LocalData._hist_sql` computes them."""
        assert comp.column is not None and comp.bins is not None
        col = self.cols[comp.column]
        lo, hi, bins = float(comp.lo or 0), float(comp.hi or 0), comp.bins
        h = _ref(f"h{col.index}")
        diff: exp.Expr
        if col.exact and _decimal_literal(lo):
            diff = exp.cast(exp.Sub(this=h, expression=exp.cast(_literal(lo), NUMERIC)), DOUBLE)
        else:
            diff = exp.Sub(this=exp.cast(h, DOUBLE), expression=_double(lo))
        scaled = exp.Mul(this=exp.Div(this=exp.Paren(this=diff), expression=_double(hi - lo)),
                         expression=_double(bins))
        b = _least_greatest(exp.Floor(this=scaled), _double(0), _double(bins - 1))
        v = _ref(f"v{col.index}")
        q = (exp.select(*self._groups(), exp.alias_(exp.cast(b, "BIGINT"), "bin", quoted=True), _count(v))
             .from_(self._source()).where(exp.Not(this=exp.Is(this=v.copy(), expression=exp.Null())))
             .group_by(*self._groups(), _ref("bin")))
        return q.sql(dialect="postgres")

    # ---------------------------------------------------------------- WHERE, as the file path filters
    def _where(self) -> exp.Expr:
        parts: list[exp.Expr] = []
        if self.plan.where is not None:
            parts.append(self._cond(self.plan.where))
        for g in self.plan.group_by:  # values outside the public domain are dropped on mapping
            parts.append(exp.Not(this=exp.Is(this=exp.column(g, quoted=True), expression=exp.Null())))
        for name in self.plan.complete:  # LINREG: complete cases only
            parts.append(exp.Not(this=exp.Is(this=exp.column(name, quoted=True), expression=exp.Null())))
        for name in self.plan.in_domain:  # exact products: rows outside the public domains are not data
            domain = self.plan.column(name).domain or ()
            parts.append(exp.In(this=exp.column(name, quoted=True), expressions=[_literal(v) for v in domain]))
        if not parts:
            return exp.true()
        return exp.and_(*[exp.Paren(this=p) for p in parts])

    def _operand(self, name: str) -> tuple[exp.Expr, bool]:
        """The column as compared (double for non-integer numbers, as DuckDB compares a DOUBLE column)."""
        raw = exp.column(name, quoted=True)
        double = self.types.get(name) in ("float4", "float8", "numeric")
        return (exp.cast(raw, DOUBLE) if double else raw), double

    def _cond(self, cond: Cond) -> exp.Expr:
        if cond.op in ("and", "or"):
            args = [exp.Paren(this=self._cond(a)) for a in cond.args]
            return exp.and_(*args) if cond.op == "and" else exp.or_(*args)
        if cond.column is None:
            raise ComputeRefused(f"condition {cond.op!r} names no column")
        col, double = self._operand(cond.column)

        def lit(v: Any) -> exp.Expr:
            return exp.cast(_literal(v), DOUBLE) if double and not isinstance(v, str) else _literal(v)

        values = [lit(v) for v in cond.values]
        if cond.op == "cmp" and len(values) == 1:
            ops: dict[str | None, type[exp.Binary]] = {"=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE,
                                                       ">": exp.GT, ">=": exp.GTE}
            if cond.cmp not in ops:
                raise ComputeRefused(f"unknown comparison {cond.cmp!r}")
            return ops[cond.cmp](this=col, expression=values[0])
        if cond.op == "in" and values:
            return exp.In(this=col, expressions=values)
        if cond.op == "between" and len(values) == 2:
            return exp.Between(this=col, low=values[0], high=values[1])
        raise ComputeRefused(f"condition {cond.op!r} with {len(values)} values cannot be pushed down")
