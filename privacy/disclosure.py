"""Disclosure control for exact (noise-off) answers: no combination of released cells may isolate
fewer than the minimum group size of rows.

Without noise, per-cell suppression is not enough: two queries differing by one filter, or a
coarse grouping against a finer one, differ by a handful of rows, whose exact aggregate the buyer
then has. The rule (argued in ``privacy/README.md``):

1. *Shape.* WHERE may only name columns with a public domain, and a HISTOGRAM must span its
   column's declared bounds with a power-of-two number of bins. The product's data is the rows
   whose public-domain columns all hold a domain value (``Plan.in_domain``), so every released row
   set is a union of *atoms*: cells of the full partition F (the product of all public domains),
   refined by a histogram's dyadic bins, or the non-NULL part of one.
2. *Atoms.* Before the query runs, the same providers compute, by secure aggregation and shown to
   no buyer, the exact count of every atom the query's cells are made of (COUNT(*), each
   aggregated column's COUNT(col), each histogram's bins, over F). If any atom holds 0 < n < m rows,
   the query is refused and nothing is released.

Since every atom of F holds 0 or at least m rows whenever anything is released, any linear
combination of released cells, across any number of queries, is a combination of atom
aggregates, each over 0 or at least m rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from privacy.calibrate import no_noise
from privacy.coordinator import Coordinator
from privacy.errors import DisclosureRefused, QueryError
from privacy.plan import TREE_KINDS, Aggregate, ColumnSpec, Plan
from privacy.result import AggregateResult
from privacy.sql import MAX_LANES


def exact_plan(plan: Plan, domains: Sequence[ColumnSpec]) -> Plan:
    """``plan`` over the rows inside every public domain; QueryError if its shape is not allowed."""
    public = {c.name for c in domains if c.domain}
    where_cols = plan.where.columns() if plan.where is not None else set()
    for name in sorted(where_cols - public):
        raise QueryError(name, "exact answers allow WHERE only on columns with a public domain "
                               "(a filter on any other column could isolate single rows)")
    for a in plan.aggregates:
        if a.kind == "linreg":
            raise QueryError(a.alias, "LINREG is answered only with noise (exact fits over different complete "
                                      "cases could be differenced)")
        if a.kind == "histogram":
            spec = plan.column(str(a.column))
            bins = int(a.bins or 0)
            if (a.lo, a.hi) != (spec.lo, spec.hi) or bins & (bins - 1):
                raise QueryError(a.alias, f"exact answers need HISTOGRAM({spec.name}, {spec.lo}, {spec.hi}, 2^k): "
                                          "the column's bounds and a power-of-two number of bins")
    columns = {c.name: c for c in (*plan.columns, *(c for c in domains if c.domain))}
    return replace(plan, columns=tuple(sorted(columns.values(), key=lambda c: c.name)),
                   in_domain=tuple(sorted(public)))


def atoms_plan(plan: Plan) -> Plan:
    """The hidden plan counting every atom ``plan``'s cells are made of (``plan`` from
    :func:`exact_plan`)."""
    aggs = [Aggregate("count", None, "rows")]
    for a in plan.aggregates:
        if a.kind == "histogram":
            aggs.append(replace(a, alias=f"bins:{a.alias}"))
        elif a.kind in TREE_KINDS:  # released from the tree: its finest bins are the atoms
            spec = plan.column(str(a.column))
            tree = Aggregate("histogram", a.column, f"tree:{a.column}", spec.lo, spec.hi, a.bins)
            if tree not in aggs:
                aggs.append(tree)
        elif a.column is not None and all(x.column != a.column or x.kind != "count" for x in aggs[1:]):
            aggs.append(Aggregate("count", a.column, f"count:{a.column}"))
    atoms = Plan(aggregates=tuple(aggs), group_by=plan.in_domain, where=None, columns=plan.columns,
                 in_domain=plan.in_domain, privacy_unit=plan.privacy_unit)
    if atoms.vector_length() > MAX_LANES:
        raise QueryError("GROUP BY", f"the product's public partition has more than {MAX_LANES} cells; "
                                     "exact answers cannot be checked against differencing")
    return atoms


def small_atoms(result: AggregateResult, min_group_size: int) -> int:
    """How many atom counts lie strictly between 0 and ``min_group_size``."""
    small = 0
    for g in result.groups:
        for value in g.values.values():
            counts = value if isinstance(value, list) else [value]
            small += sum(1 for n in counts if 0 < n < min_group_size)
    return small


async def run_exact(coordinator: Coordinator, plan: Plan, min_group_size: int, query_id: str) -> AggregateResult:
    """Check the atoms of ``plan`` (from :func:`exact_plan`), then run it; DisclosureRefused if an
    atom is small (nothing is released)."""
    atoms = atoms_plan(plan)
    check = await coordinator.run(atoms, no_noise(atoms), min_group_size=0, query_id=f"{query_id}-atoms")
    if small_atoms(check, min_group_size):
        raise DisclosureRefused(
            f"an exact answer could isolate fewer than {min_group_size} rows (the product's public "
            "partition has a small cell, so differencing this query against others would reveal it)")
    return await coordinator.run(plan, no_noise(plan), min_group_size=min_group_size, query_id=query_id)


def run_exact_sync(coordinator: Coordinator, plan: Plan, min_group_size: int, query_id: str) -> AggregateResult:
    """Blocking :func:`run_exact` (own event loop), as :meth:`Coordinator.run_sync`."""

    async def go() -> AggregateResult:
        try:
            return await run_exact(coordinator, plan, min_group_size, query_id)
        finally:
            await coordinator.aclose()

    return asyncio.run(go())
