"""``LINREG(y, x1, ..., xk)`` in the query language: least squares of y on an intercept and the x's.

A LINREG query fits one model over the complete cases of its columns (a row with NULL in any of them is left
out, as SQL regression would): it is the only aggregate of its query and has no GROUP BY (a subset is chosen
with WHERE). The plan carries the complete-case columns (``Plan.complete``); the fit is :mod:`privacy.regression`.
"""

from __future__ import annotations

from collections.abc import Sequence

from privacy.errors import QueryError
from privacy.plan import Aggregate, ColumnSpec

MAX_FEATURES = 10


def linreg_aggregate(specs: Sequence[ColumnSpec], alias: str | None) -> Aggregate:
    """The LINREG aggregate over ``specs`` (the target first, then 1..MAX_FEATURES regressors)."""
    if not 2 <= len(specs) <= MAX_FEATURES + 1:
        raise QueryError("LINREG", f"expects LINREG(y, x1[, x2 ... x{MAX_FEATURES}])")
    for spec in specs:
        if not spec.numeric:
            raise QueryError(spec.name, "LINREG needs numeric columns")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise QueryError("LINREG", "each column may appear once")
    return Aggregate("linreg", names[0], alias or f"linreg({', '.join(names)})", features=tuple(names[1:]))


def complete_cases(aggregates: Sequence[Aggregate], group_by: Sequence[str]) -> tuple[str, ...]:
    """The columns every counted row must hold (LINREG's), or () for a query without LINREG."""
    fits = [a for a in aggregates if a.kind == "linreg"]
    if not fits:
        return ()
    if len(aggregates) > 1:
        raise QueryError("LINREG", "must be the only aggregate of its query")
    if group_by:
        raise QueryError("GROUP BY", "LINREG fits one model per query; select a subset with WHERE instead")
    return tuple(sorted(fits[0].used))
