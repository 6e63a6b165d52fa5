"""Aggregate-only SQL: parse with sqlglot into a canonical, hashable :class:`Plan`.

Accepted: ``SELECT agg, ... [, groupcol] FROM table [WHERE cond] [GROUP BY col, ...]`` with
``COUNT(*)``, ``COUNT(col)``, ``SUM``, ``AVG``, ``VAR``/``VARIANCE``/``VAR_SAMP``,
``STDDEV``/``STDDEV_SAMP`` and ``HISTOGRAM(col, lo, hi, bins)``; ``cond`` is built from
comparisons, ``IN``, ``BETWEEN``, ``AND``, ``OR`` and parentheses on allowed columns with
literal values. ``GROUP BY`` only on columns whose value domain is declared public.
Everything else raises :class:`QueryError` naming the token and the reason.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from privacy.canonical import canonical_json
from privacy.errors import QueryError

Scalar = int | float | str
KINDS = frozenset({"count", "sum", "avg", "var", "stddev", "histogram"})
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
}
_ANON_AGGS = {"VAR": "var", "HISTOGRAM": "histogram"}
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


@dataclass(frozen=True)
class ColumnSpec:
    """A column a product exposes: type, clipping bounds, public group-by domain."""

    name: str
    type: Literal["int", "float", "category"]
    lo: float | int | None = None
    hi: float | int | None = None
    domain: Sequence[str | int] | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        if self.type not in ("int", "float", "category"):
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")
        if self.domain is not None:
            object.__setattr__(self, "domain", tuple(self.domain))
        for bound in (self.lo, self.hi):
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, int | float)
                or not math.isfinite(bound)
            ):
                raise ValueError(f"column {self.name}: bounds must be finite numbers")
        if self.type != "category":
            if self.lo is None or self.hi is None or not self.lo <= self.hi:
                raise ValueError(f"numeric column {self.name} needs bounds lo <= hi")
            if self.type == "int":
                object.__setattr__(self, "lo", int(self.lo))
                object.__setattr__(self, "hi", int(self.hi))
        if self.decimals is None:
            object.__setattr__(self, "decimals", 2 if self.type == "float" else 0)

    @property
    def numeric(self) -> bool:
        return self.type != "category"

    @property
    def scale(self) -> int:
        """Fixed-point scale: a value v is encoded as round(v * scale)."""
        return 10 ** int(self.decimals or 0) if self.type == "float" else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "lo": self.lo,
            "hi": self.hi,
            "domain": list(self.domain) if self.domain is not None else None,
            "decimals": self.decimals,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnSpec:
        return cls(
            name=d["name"],
            type=d["type"],
            lo=d.get("lo"),
            hi=d.get("hi"),
            domain=tuple(d["domain"]) if d.get("domain") is not None else None,
            decimals=d.get("decimals"),
        )


@dataclass(frozen=True)
class Aggregate:
    """One output aggregate. ``column`` is None only for COUNT(*)."""

    kind: str
    column: str | None
    alias: str
    lo: float | None = None
    hi: float | None = None
    bins: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "column": self.column, "alias": self.alias}
        if self.kind == "histogram":
            d.update(lo=self.lo, hi=self.hi, bins=self.bins)
        return d


@dataclass(frozen=True)
class Cond:
    """A WHERE node: op in cmp (with cmp), in, between, and, or."""

    op: str
    column: str | None = None
    cmp: str | None = None
    values: tuple[Scalar, ...] = ()
    args: tuple[Cond, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.op in ("and", "or"):
            return {"op": self.op, "args": [a.to_dict() for a in self.args]}
        d: dict[str, Any] = {"op": self.op, "column": self.column, "values": list(self.values)}
        if self.op == "cmp":
            d["cmp"] = self.cmp
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cond:
        if d["op"] in ("and", "or"):
            return cls(op=d["op"], args=tuple(cls.from_dict(a) for a in d["args"]))
        return cls(op=d["op"], column=d["column"], cmp=d.get("cmp"), values=tuple(d["values"]))

    def columns(self) -> set[str]:
        if self.op in ("and", "or"):
            return set().union(*(a.columns() for a in self.args))
        return {self.column} if self.column else set()


@dataclass(frozen=True)
class Component:
    """A lane family of the provider's local vector: count_star, count, sum, sumsq, hist."""

    stat: str
    column: str | None = None
    lo: float | None = None
    hi: float | None = None
    bins: int | None = None

    @property
    def lanes(self) -> int:
        return int(self.bins) if self.stat == "hist" and self.bins else 1


@dataclass(frozen=True)
class Plan:
    """Canonical query plan; what the ledger records and what providers execute."""

    aggregates: tuple[Aggregate, ...]
    group_by: tuple[str, ...]
    where: Cond | None
    columns: tuple[ColumnSpec, ...]
    version: int = 1

    @property
    def kinds(self) -> set[str]:
        return {a.kind for a in self.aggregates}

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "aggregates": [a.to_dict() for a in self.aggregates],
            "group_by": list(self.group_by),
            "where": self.where.to_dict() if self.where else None,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            aggregates=tuple(
                Aggregate(
                    kind=a["kind"],
                    column=a["column"],
                    alias=a["alias"],
                    lo=a.get("lo"),
                    hi=a.get("hi"),
                    bins=a.get("bins"),
                )
                for a in d["aggregates"]
            ),
            group_by=tuple(d["group_by"]),
            where=Cond.from_dict(d["where"]) if d.get("where") else None,
            columns=tuple(ColumnSpec.from_dict(c) for c in d["columns"]),
            version=int(d.get("version", 1)),
        )

    def canonical(self) -> str:
        return canonical_json(self.to_dict())

    def hash(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    def groups(self) -> list[tuple[str | int, ...]]:
        """All groups, in vector order: the cartesian product of the public domains."""
        domains = [self.column(g).domain or () for g in self.group_by]
        return list(itertools.product(*domains))

    def components(self) -> list[Component]:
        """Lane families per group (deduplicated); count_star always first (suppression)."""
        out: list[Component] = [Component("count_star")]
        for a in self.aggregates:
            wanted: list[Component] = []
            if a.kind == "count" and a.column is not None:
                wanted = [Component("count", a.column)]
            elif a.kind == "sum":
                wanted = [Component("sum", a.column)]
            elif a.kind == "avg":
                wanted = [Component("sum", a.column), Component("count", a.column)]
            elif a.kind in ("var", "stddev"):
                wanted = [
                    Component("sum", a.column),
                    Component("sumsq", a.column),
                    Component("count", a.column),
                ]
            elif a.kind == "histogram":
                wanted = [Component("hist", a.column, a.lo, a.hi, a.bins)]
            for c in wanted:
                if c not in out:
                    out.append(c)
        return out

    def lanes_per_group(self) -> int:
        return sum(c.lanes for c in self.components())

    def vector_length(self) -> int:
        return len(self.groups()) * self.lanes_per_group()


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
            for key, value in node.args.items():
                if key not in ("this", "expressions", "big_int") and value:
                    raise QueryError(_sql_snippet(node), f"unsupported aggregate option {key}")
        if self.allowed_kinds is not None and kind not in self.allowed_kinds:
            raise QueryError(kind.upper(), "aggregate kind not allowed by the license")
        if kind == "count" and len(args) == 1 and isinstance(args[0], exp.Star):
            return Aggregate("count", None, alias or "count(*)")
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
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
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

    group_by: list[str] = []
    group = root.args.get("group")
    if group is not None:
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

    where = root.args.get("where")
    cond = p.condition(where.this) if where is not None else None
    plan = Plan(
        aggregates=tuple(aggregates),
        group_by=tuple(group_by),
        where=cond,
        columns=tuple(sorted((p.columns[n.lower()] for n in p.used), key=lambda c: c.name)),
    )
    if plan.vector_length() > MAX_LANES:
        raise QueryError("GROUP BY", f"result would have more than {MAX_LANES} values")
    return plan
