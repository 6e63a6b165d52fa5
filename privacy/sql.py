"""Aggregate-only SQL: parse with sqlglot into a canonical, hashable :class:`~privacy.plan.Plan`.

Accepted: ``SELECT agg, ... [, groupcol] FROM table [WHERE cond] [GROUP BY col, ...]`` with
``COUNT(*)``, ``COUNT(col)``, ``SUM``, ``AVG``, ``VAR``/``VARIANCE``/``VAR_SAMP``,
``STDDEV``/``STDDEV_SAMP``, ``HISTOGRAM(col, lo, hi, bins)`` and ``LINREG(y, x1, ...)`` (alone in its query,
without GROUP BY; see :mod:`privacy.regression`); ``cond`` is built from
comparisons, ``IN``, ``BETWEEN``, ``AND``, ``OR`` and parentheses on allowed columns with
literal values. ``GROUP BY`` only on columns whose value domain is declared public.
Everything else raises :class:`QueryError` naming the token and the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from privacy.errors import QueryError
from privacy.plan import Aggregate, ColumnSpec, Cond, Plan, Scalar
from privacy.sql_linreg import complete_cases, linreg_aggregate
from privacy.sql_tree import TREE_FUNCS, check_arity, tree_aggregate

MAX_BINS = 1000
MAX_LANES = 1_000_000
_CMP_OPS: dict[type[exp.Expression], str] = {
    exp.EQ: "=",
    exp.NEQ: "!=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_AGG_NAMES: dict[type[exp.Expression], str] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Avg: "avg",
    exp.Variance: "var",
    exp.Stddev: "stddev",
    exp.StddevSamp: "stddev",
    exp.Median: "median",
    exp.Quantile: "quantile",
    exp.PercentileCont: "quantile",
    exp.Min: "min",
    exp.Max: "max",
}
_P_ARGS = ("quantile", "expression")  # where sqlglot keeps QUANTILE's / QUANTILE_CONT's p
_ANON_AGGS = {"VAR": "var", "HISTOGRAM": "histogram", "LINREG": "linreg"}
_SELECT_ARG_TOKENS = {
    "joins": "JOIN",
    "laterals": "LATERAL",
    "having": "HAVING",
    "order": "ORDER BY",
    "limit": "LIMIT",
    "offset": "OFFSET",
    "distinct": "DISTINCT",
    "with": "WITH",
    "with_": "WITH",
    "qualify": "QUALIFY",
    "windows": "WINDOW",
    "into": "INTO",
    "settings": "SETTINGS",
    "sample": "SAMPLE",
    "kind": "SELECT kind",
    "hint": "hint",
    "locks": "FOR UPDATE",
    "connect": "CONNECT BY",
    "prewhere": "PREWHERE",
    "cluster": "CLUSTER BY",
    "distribute": "DISTRIBUTE BY",
    "sort": "SORT BY",
    "match": "MATCH_RECOGNIZE",
    "options": "OPTION",
    "operation_modifiers": "modifier",
}



def _sql_snippet(node: exp.Expression) -> str:
    try:
        text = node.sql()
    except Exception:  # pragma: no cover - defensive: never crash on odd trees
        text = type(node).__name__
    return text if len(text) <= 80 else text[:77] + "..."


class _Parser:
    def __init__(
        self,
        columns: Sequence[ColumnSpec],
        allowed_columns: set[str] | None,
        allowed_kinds: set[str] | None,
        table: str | None,
    ) -> None:
        self.columns = {c.name.lower(): c for c in columns}
        self.allowed = {c.lower() for c in allowed_columns} if allowed_columns is not None else None
        self.allowed_kinds = allowed_kinds
        self.table = table
        self.used: set[str] = set()

    def column(self, node: exp.Expression) -> ColumnSpec:
        if isinstance(node, exp.Func):
            raise QueryError(_func_name(node), "function not allowed")
        if not isinstance(node, exp.Column):
            raise QueryError(_sql_snippet(node), "expected a column name")
        if node.table:
            raise QueryError(_sql_snippet(node), "qualified column names are not allowed")
        name = node.name
        spec = self.columns.get(name.lower())
        if spec is None:
            raise QueryError(name, "unknown column")
        if self.allowed is not None and spec.name.lower() not in self.allowed:
            raise QueryError(name, "column not allowed by the license")
        self.used.add(spec.name)
        return spec

    def literal(self, node: exp.Expression, spec: ColumnSpec) -> Scalar:
        neg = False
        while isinstance(node, exp.Paren | exp.Neg):
            if isinstance(node, exp.Neg):
                neg = not neg
            node = node.this
        if not isinstance(node, exp.Literal):
            raise QueryError(_sql_snippet(node), "only literal values may be compared")
        if node.is_string:
            if neg:
                raise QueryError(_sql_snippet(node), "cannot negate a string")
            if spec.numeric:
                raise QueryError(node.this, f"column {spec.name} is numeric; expected a number")
            return str(node.this)
        value = _number(node.this)
        value = -value if neg else value
        if spec.type == "category" and not (spec.domain and isinstance(spec.domain[0], int)):
            raise QueryError(str(node.this), f"column {spec.name} takes string values")
        return value

    def condition(self, node: exp.Expression, depth: int = 0) -> Cond:
        if depth > 50:
            raise QueryError(_sql_snippet(node), "condition nested too deeply")
        if isinstance(node, exp.Paren):
            return self.condition(node.this, depth + 1)
        if isinstance(node, exp.And | exp.Or):
            op = "and" if isinstance(node, exp.And) else "or"
            args: list[Cond] = []
            for side in (node.this, node.expression):
                c = self.condition(side, depth + 1)
                args.extend(c.args if c.op == op else (c,))
            return Cond(op=op, args=tuple(args))
        op_name = _CMP_OPS.get(type(node))
        if op_name is not None:
            left, right = node.this, node.expression
            if not isinstance(left, exp.Column) and isinstance(right, exp.Column):
                left, right, op_name = right, left, _FLIP[op_name]
            spec = self.column(left)
            value = self.literal(right, spec)
            if op_name not in ("=", "!=") and not spec.numeric:
                raise QueryError(op_name, f"ordering comparison on category column {spec.name}")
            return Cond(op="cmp", column=spec.name, cmp=op_name, values=(value,))
        if isinstance(node, exp.In):
            if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
                raise QueryError("IN", "subqueries are not allowed")
            spec = self.column(node.this)
            items = node.expressions
            if not items:
                raise QueryError("IN", "empty IN list")
            return Cond(
                op="in", column=spec.name, values=tuple(self.literal(i, spec) for i in items)
            )
        if isinstance(node, exp.Between):
            spec = self.column(node.this)
            if not spec.numeric:
                raise QueryError("BETWEEN", f"BETWEEN on category column {spec.name}")
            lo = self.literal(node.args["low"], spec)
            hi = self.literal(node.args["high"], spec)
            return Cond(op="between", column=spec.name, values=(lo, hi))
        if isinstance(node, exp.Not):
            raise QueryError("NOT", "negation is not supported; use !=, <, > instead")
        if isinstance(node, exp.Subquery | exp.Select | exp.Exists):
            raise QueryError(_sql_snippet(node), "subqueries are not allowed")
        if isinstance(node, exp.Is):
            raise QueryError("IS", "IS [NOT] NULL is not supported")
        if isinstance(node, exp.Like | exp.ILike):
            raise QueryError("LIKE", "pattern matching is not supported")
        raise QueryError(_sql_snippet(node), "unsupported condition")

    def aggregate(self, node: exp.Expression, alias: str | None) -> Aggregate:
        kind: str | None = None
        args: list[exp.Expression] = []
        if isinstance(node, exp.Anonymous):
            fname = str(node.this).upper()
            kind = _ANON_AGGS.get(fname)
            if kind is None:
                raise QueryError(fname, "function not allowed")
            args = list(node.expressions)
        else:
            for cls, name in _AGG_NAMES.items():
                if type(node) is cls:
                    kind = name
            if kind is None:
                if isinstance(node, exp.Func):
                    raise QueryError(_func_name(node), "function not allowed")
                raise QueryError(_sql_snippet(node), "only aggregates may be selected")
            this = node.this
            if isinstance(this, exp.Distinct):
                raise QueryError("DISTINCT", "distinct aggregates are not allowed")
            args = [this] if this is not None else []
            args += list(node.expressions or [])
            extra = _P_ARGS if kind == "quantile" else ()
            args += [node.args[k] for k in extra if node.args.get(k) is not None]
            for key, value in node.args.items():
                if key not in ("this", "expressions", "big_int", *extra) and value:
                    raise QueryError(_sql_snippet(node), f"unsupported aggregate option {key}")
        if self.allowed_kinds is not None and ("quantile" if kind == "median" else kind) not in self.allowed_kinds:
            raise QueryError(kind.upper(), "aggregate kind not allowed by the license")
        if kind in TREE_FUNCS:
            return tree_aggregate(kind, args, alias, self.column)
        if kind == "count" and len(args) == 1 and isinstance(args[0], exp.Star):
            return Aggregate("count", None, alias or "count(*)")
        if kind == "linreg":
            return linreg_aggregate([self.column(a) for a in args], alias)
        if kind == "histogram":
            if len(args) != 4:
                raise QueryError("HISTOGRAM", "expects HISTOGRAM(col, lo, hi, bins)")
            spec = self.column(args[0])
            if not spec.numeric:
                raise QueryError(spec.name, "HISTOGRAM needs a numeric column")
            lo = self.literal(args[1], spec)
            hi = self.literal(args[2], spec)
            bins = self.literal(args[3], spec)
            if not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
                raise QueryError(str(bins), f"bins must be an integer in 1..{MAX_BINS}")
            assert isinstance(lo, int | float) and isinstance(hi, int | float)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and math.isfinite(hi - lo)):
                raise QueryError(f"{lo}, {hi}", "histogram needs finite lo < hi")
            name = alias or f"histogram({spec.name},{lo},{hi},{bins})"
            return Aggregate("histogram", spec.name, name, lo, hi, bins)
        if len(args) != 1:
            raise QueryError(kind.upper(), "expects exactly one column argument")
        if isinstance(args[0], exp.Star):
            raise QueryError("*", f"{kind.upper()}(*) is not allowed")
        spec = self.column(args[0])
        if kind != "count" and not spec.numeric:
            raise QueryError(spec.name, f"{kind.upper()} needs a numeric column")
        return Aggregate(kind, spec.name, alias or f"{kind}({spec.name})")



def _func_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper()
    try:
        return str(node.sql_name())  # type: ignore[attr-defined]
    except Exception:
        return type(node).__name__.upper()


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError as e:
        raise QueryError(text, "not a number") from e
    if not math.isfinite(value):
        raise QueryError(text, "number must be finite")
    return value


def parse_query(
    sql: str,
    columns: Sequence[ColumnSpec],
    allowed_columns: set[str] | None = None,
    allowed_kinds: set[str] | None = None,
    table: str | None = None,
) -> Plan:
    """Parse aggregate-only SQL into a :class:`Plan` or raise :class:`QueryError`."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryError("", "empty query")
    if len(sql) > 20_000:
        raise QueryError(sql[:20], "query too long")
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        err = e.errors[0] if e.errors else {}
        token = str(err.get("highlight") or "") or sql[:20]
        desc = str(err.get("description", e))
        desc = re.sub(r"<Token token_type: TokenType\.SENTINEL[^>]*>", "end of input", desc)
        desc = re.sub(r"<Token token_type: TokenType\.(\w+), text: ([^,]*),[^>]*>", r"\2", desc)
        raise QueryError(token, f"syntax error: {desc}") from None
    except Exception as e:  # sqlglot TokenError and friends
        raise QueryError(sql[:20], f"syntax error: {e}") from None
    statements = [s for s in statements if s is not None]
    check_arity(sql)
    if len(statements) != 1:
        raise QueryError(";", "exactly one statement is allowed")
    root = statements[0]
    if not isinstance(root, exp.Select):
        token = type(root).__name__.upper()
        if isinstance(root, exp.Union | exp.Intersect | exp.Except):
            token = type(root).__name__.upper()
            raise QueryError(token, "set operations are not allowed")
        raise QueryError(token, "only SELECT statements are allowed")
    return _parse_select(root, _Parser(columns, allowed_columns, allowed_kinds, table))


def _parse_select(root: exp.Select, p: _Parser) -> Plan:
    for key, value in root.args.items():
        if key in ("expressions", "from", "from_", "where", "group"):
            continue
        if value:
            raise QueryError(_SELECT_ARG_TOKENS.get(key, key.upper()), "not allowed in a query")
    _check_source(root, p)
    group_by = _group_by(root, p)
    aggregates = _aggregates(root, p, group_by)
    where = root.args.get("where")
    cond = p.condition(where.this) if where is not None else None
    plan = Plan(
        aggregates=tuple(aggregates),
        group_by=tuple(group_by),
        where=cond,
        columns=tuple(sorted((p.columns[n.lower()] for n in p.used), key=lambda c: c.name)),
        complete=complete_cases(aggregates, group_by),
    )
    if plan.vector_length() > MAX_LANES:
        raise QueryError("GROUP BY", f"result would have more than {MAX_LANES} values")
    return plan


def _check_source(root: exp.Select, p: _Parser) -> None:
    """FROM must name the one product table, unqualified and unmodified."""
    from_ = root.args.get("from_") or root.args.get("from")
    if from_ is None:
        raise QueryError("SELECT", "a FROM clause naming the product table is required")
    source = from_.this
    if not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
        if isinstance(source, exp.Subquery):
            raise QueryError(_sql_snippet(source), "subqueries are not allowed")
        raise QueryError(_sql_snippet(source), "FROM must name a single table")
    if source.args.get("db") or source.args.get("catalog"):
        raise QueryError(_sql_snippet(source), "qualified table names are not allowed")
    if any(v for k, v in source.args.items() if k not in ("this", "alias")):
        raise QueryError(_sql_snippet(source), "table modifiers are not allowed")
    if p.table is not None and source.name.lower() != p.table.lower():
        raise QueryError(source.name, f"unknown table; query {p.table}")
    if from_.args.get("expressions"):
        raise QueryError(",", "joins are not allowed")


def _group_by(root: exp.Select, p: _Parser) -> list[str]:
    """GROUP BY columns, each with a public domain, none repeated."""
    group_by: list[str] = []
    group = root.args.get("group")
    if group is None:
        return group_by
    for key, value in group.args.items():
        if key != "expressions" and value:
            raise QueryError("GROUP BY", f"{key.upper()} is not allowed")
    for g in group.expressions:
        spec = p.column(g)
        if not spec.domain:
            raise QueryError(spec.name, "GROUP BY needs a column with a public domain")
        if spec.name in group_by:
            raise QueryError(spec.name, "repeated GROUP BY column")
        group_by.append(spec.name)
    return group_by


def _aggregates(root: exp.Select, p: _Parser, group_by: list[str]) -> list[Aggregate]:
    """The selected aggregates (grouped columns may be selected too; nothing else)."""
    aggregates: list[Aggregate] = []
    for item in root.expressions:
        alias: str | None = None
        node = item
        if isinstance(item, exp.Alias):
            alias = item.alias
            node = item.this
        if isinstance(node, exp.Star):
            raise QueryError("*", "row selection is not allowed; use aggregates")
        if isinstance(node, exp.Column):
            spec = p.column(node)
            if spec.name not in group_by:
                raise QueryError(spec.name, "row selection is not allowed; column not grouped")
            continue
        if isinstance(node, exp.Subquery | exp.Select):
            raise QueryError(_sql_snippet(node), "subqueries are not allowed")
        if isinstance(node, exp.Window):
            raise QueryError("OVER", "window functions are not allowed")
        aggregates.append(p.aggregate(node, alias))
    if not aggregates:
        raise QueryError("SELECT", "at least one aggregate is required")
    aliases = [a.alias for a in aggregates]
    if len(set(aliases)) != len(aliases):
        raise QueryError(aliases[0], "duplicate output names; use AS")
    return aggregates
