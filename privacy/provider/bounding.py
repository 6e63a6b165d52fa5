"""Contribution bounding per privacy ID, inside the node's own database, before anything is aggregated.

After the plan's WHERE filter, each ID keeps at most G of its groups and at most R of its rows in each
kept group (:mod:`privacy.unit`): the groups by a keyed hash of (ID, group) under a fresh random salt,
the rows by fresh randomness (DuckDB: ``random()`` per row; PostgreSQL: a keyed hash of the row and its
number among identical rows, so every statement of the plan keeps the same rows), so every plan draws
anew and neither choice follows file order. Ties in the group key fall back to the group values, so no
ID ever keeps more than G groups. Rows whose ID is NULL are one ID (SQL ``PARTITION BY`` puts NULLs
together). A node whose policy declares ID prefixes first drops every row whose ID starts with none of
them (:func:`keeping_prefixes`). The same three levels are written for DuckDB (text, the file path) and
for PostgreSQL (sqlglot trees, the pushdown path).
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from sqlglot import exp

from privacy.plan import Plan
from privacy.secagg.provider import ComputeFn
from privacy.unit import PrivacyUnit

RAND, GKEY, ROWN, GRANK, DUP = "_pv_rand", "_pv_gkey", "_pv_rown", "_pv_grank", "_pv_dup"


def salt() -> int:
    """A fresh 62-bit salt for one plan's group choice."""
    return secrets.randbits(62)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def keeping_prefixes(compute: ComputeFn, prefixes: tuple[str, ...]) -> ComputeFn:
    """``compute`` on this node's own IDs only: every plan's privacy unit carries the node's prefixes."""
    def run(plan: Plan, units: list[int]) -> list[int]:
        if plan.privacy_unit is not None:
            plan = replace(plan, privacy_unit=replace(plan.privacy_unit, prefixes=prefixes))
        return compute(plan, units)
    return run


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_bounded(unit: PrivacyUnit, group_by: tuple[str, ...], source: str) -> str:
    """A DuckDB relation over ``source`` (``<table> WHERE <filter>``) keeping R rows per (ID, group) and G
    groups per ID (and only IDs with one of the unit's prefixes, when it has any)."""
    pid, gcols = _q(unit.column), [_q(g) for g in group_by]
    if unit.prefixes:
        source += " AND (" + " OR ".join(f"starts_with(CAST({pid} AS VARCHAR), {_text(p)})"
                                         for p in unit.prefixes) + ")"
    part = ", ".join([pid, *gcols])
    gkey = f"hash({salt()}, {part})" if gcols else "0"
    level1 = f"SELECT *, random() AS {RAND}, {gkey} AS {GKEY} FROM {source}"
    level2 = f"SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY {RAND}) AS {ROWN} FROM ({level1})"
    order = ", ".join([GKEY, *gcols])
    level3 = f"SELECT *, dense_rank() OVER (PARTITION BY {pid} ORDER BY {order}) AS {GRANK} FROM ({level2})"
    return f"({level3}) AS bounded WHERE {ROWN} <= {unit.max_rows} AND {GRANK} <= {unit.max_groups}"


def _window(fn: exp.Expr, partition: list[exp.Expr], order: list[exp.Expr]) -> exp.Window:
    return exp.Window(this=fn, partition_by=partition,
                      order=exp.Order(expressions=[exp.Ordered(this=o) for o in order]))


def _sub(query: exp.Select, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _ref(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _keyed(key: int, parts: list[exp.Expr]) -> exp.Expr:
    """md5 of the salt and the parts' text (NULL as a byte no text value holds)."""
    text = [exp.Coalesce(this=exp.cast(p, "TEXT"), expressions=[exp.Literal.string("\x01")]) for p in parts]
    return exp.MD5(this=exp.Concat(expressions=[exp.Literal.string(f"{key}|"), *text]))


def postgres_bounded(rows: exp.Select, unit: PrivacyUnit, groups: int, id_alias: str, key: int) -> exp.Select:
    """``rows`` (the filtered rows, the ID as ``id_alias``, group keys ``g<i>``) with R rows per (ID, group)
    and G groups per ID kept, as :func:`duckdb_bounded` keeps them. The row order is a keyed hash of the
    row (and its number among identical rows) under ``key`` (one fresh salt per plan), so the plan's statements
    (scalars, each histogram), run one after another, keep the same rows."""
    pid = _ref(id_alias)
    gcols = [_ref(f"g{i}") for i in range(groups)]
    if unit.prefixes:
        rows = rows.where(exp.or_(*[exp.Anonymous(this="starts_with", expressions=[
            exp.cast(exp.column(unit.column, quoted=True), "TEXT"), exp.Literal.string(p)]) for p in unit.prefixes]))
    gkey = _keyed(key, [pid.copy(), *[g.copy() for g in gcols]]) if gcols else exp.Literal.number(0)
    # identical rows are numbered 1..k, so every row's key is distinct and the order is uniform over rows
    dup = exp.Window(this=exp.RowNumber(), partition_by=[_ref(n) for n in rows.named_selects])
    numbered = exp.select(exp.Star(), exp.alias_(dup, DUP, quoted=True)).from_(_sub(rows, "d"))
    level1 = exp.select(exp.Star(), exp.alias_(_keyed(key, [exp.column("f", quoted=True)]), RAND, quoted=True),
                        exp.alias_(gkey, GKEY, quoted=True)).from_(_sub(numbered, "f"))
    rown = _window(exp.RowNumber(), [pid.copy(), *[g.copy() for g in gcols]], [_ref(RAND)])
    level2 = exp.select(exp.Star(), exp.alias_(rown, ROWN, quoted=True)).from_(_sub(level1, "k"))
    grank = _window(exp.Anonymous(this="dense_rank", expressions=[]), [pid.copy()],
                    [_ref(GKEY), *[g.copy() for g in gcols]])
    level3 = exp.select(exp.Star(), exp.alias_(grank, GRANK, quoted=True)).from_(_sub(level2, "n"))
    keep = exp.and_(exp.LTE(this=_ref(ROWN), expression=exp.convert(unit.max_rows)),
                    exp.LTE(this=_ref(GRANK), expression=exp.convert(unit.max_groups)))
    return exp.select(exp.Star()).from_(_sub(level3, "b")).where(keep)
