"""A query's result: per-group aggregates decoded from the unmasked total, and its result hash.

:func:`decode_groups` reads the summed vector through the plan's :class:`~privacy.plan.VectorLayout`
and turns lane families into the aggregates asked for (:mod:`privacy.stats`: valid range, standard
error, 95 % interval). Every released cell covers at least the minimum group size of rows: a group
by its (noised) ``COUNT(*)``, a column's statistics by that column's non-NULL count, each histogram
bin by its own count. :meth:`AggregateResult.hash` is the result hash a
query record carries: SHA-256 of the strict canonical JSON (``ledger.canonical``) of exactly what
the buyer is shown (``to_dict()``). Shown values are integers, finite floats, lists of them or
null, all of which that encoding accepts as they are, so nothing is converted for hashing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger.canonical import canonical_json
from privacy import quantiles, regression, stats
from privacy.calibrate import NoisePlan
from privacy.plan import QUANTILE_BINS, TREE_KINDS, Aggregate, Component, Plan, tree_components

DEFAULT_MIN_GROUP_SIZE = 10


@dataclass
class GroupResult:
    """One group: its values (None for a suppressed cell or bin), each value's standard error and
    95 % interval, and the group's row count (with its standard error)."""

    key: dict[str, str | int]
    values: dict[str, Any]
    count: int
    suppressed: bool
    se: dict[str, Any] = field(default_factory=dict)
    ci95: dict[str, Any] = field(default_factory=dict)
    count_se: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.key,
            "values": self.values,
            "se": self.se,
            "ci95": self.ci95,
            "count": None if self.suppressed else self.count,
            "count_se": None if self.suppressed else self.count_se,
            "suppressed": self.suppressed,
        }


@dataclass
class AggregateResult:
    """Decoded (noised) aggregates per group plus who took part and what was charged.

    ``participants`` and ``dropped`` (node ids) stay with the coordinator's caller: what the buyer
    is shown (``to_dict``) holds only their counts, so no one learns which node a result lacks."""

    query_id: str
    plan_hash: str
    groups: list[GroupResult]
    participants: list[str]
    dropped: list[str]
    epsilon: float
    delta: float
    rho: float
    noised: bool
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def suppressed_groups(self) -> list[dict[str, str | int]]:
        return [g.key for g in self.groups if g.suppressed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "plan_hash": self.plan_hash,
            "groups": [g.to_dict() for g in self.groups],
            "providers": len(self.participants),
            "providers_dropped": len(self.dropped),
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "noised": self.noised,
        }

    def hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`: the query's result hash."""
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()


@dataclass(frozen=True)
class _Group:
    """One group's lane families, read back as exact rationals in the columns' own units, with the
    variance of their noise (and of the per-row quantisation when ``unit`` > 1)."""

    lanes: dict[Component, Sequence[int]]
    units: dict[Component, int]
    scales: dict[Component, int]
    variances: dict[Component, float]

    def total(self, stat: str, column: str | None) -> stats.Total:
        comp = Component(stat, column)
        unit, scale = self.units[comp], self.scales[comp]
        var = self.variances[comp] * unit * unit
        if unit > 1:  # each row was rounded to a multiple of unit: ±unit/2, variance unit²/12
            rows = max(0, self.lanes[Component("count", column)][0])
            var += rows * unit * unit / 12
        return stats.Total(Fraction(self.lanes[comp][0] * unit, scale), var / (scale * scale))

    def moment(self, comp: Component) -> regression.Moment:
        """A regression lane (its rows are the complete cases, ``COUNT(*)``) and its noise variance."""
        unit, scale = self.units[comp], self.scales[comp]
        var = self.variances[comp] * unit * unit
        if unit > 1:
            var += max(0, self.lanes[Component("count_star")][0]) * unit * unit / 12
        return Fraction(self.lanes[comp][0] * unit, scale), var / (scale * scale)

    def bins(self, agg: Aggregate) -> tuple[list[int], float]:
        comp = Component("hist", agg.column, agg.lo, agg.hi, agg.bins)
        return list(self.lanes[comp]), self.variances[comp]

    def tree(self, agg: Aggregate, plan: Plan) -> quantiles.Tree:
        comps = tree_components(plan.column(str(agg.column)), int(agg.bins or QUANTILE_BINS))
        return quantiles.Tree([self.lanes[c] for c in comps], [self.variances[c] for c in comps])


def _hist_cells(bins: list[int], var: float, n: int, m: int) -> list[stats.Estimate | None]:
    """Each bin ≥ 0 and shown only with at least ``m`` rows; if the hidden bins would then hold
    0 < r < m of the column's ``n`` rows (derivable as n − shown), the smallest shown bins are hidden
    too until they hold at least m."""
    cells = [stats.count(stats.Total(Fraction(b), var)) for b in bins]
    shown = {i for i, b in enumerate(bins) if max(b, 0) >= m}
    while shown and len(shown) < len(bins) and 0 < n - sum(bins[i] for i in shown) < m:
        shown.remove(min(shown, key=lambda i: (bins[i], i)))
    return [c if i in shown else None for i, c in enumerate(cells)]


def _aggregate(agg: Aggregate, g: _Group, plan: Plan, m: int) -> Any:
    """One aggregate in one group: an Estimate, a list of them (histogram), or None where the
    cell is undefined or covers fewer than ``m`` rows (its column's non-NULL count)."""
    if agg.column is None:
        return stats.count(g.total("count_star", None))
    if agg.kind == "linreg":
        return regression.fit(agg, g.moment)
    n = g.total("count", agg.column)
    if n.value < m:
        return None
    spec = plan.column(agg.column)
    lo, hi = float(spec.lo or 0), float(spec.hi or 0)
    if agg.kind == "count":
        return stats.count(n)
    if agg.kind == "sum":
        return stats.total(g.total("sum", agg.column), n)
    if agg.kind == "avg":
        return stats.mean(g.total("sum", agg.column), n, lo, hi)
    if agg.kind in ("var", "stddev"):
        s, ss = g.total("sum", agg.column), g.total("sumsq", agg.column)
        return stats.variance(s, ss, n, lo, hi, sd=agg.kind == "stddev")
    if agg.kind == "histogram":
        bins, var = g.bins(agg)
        return _hist_cells(bins, var, int(n.value), m)
    if agg.kind in TREE_KINDS:
        return quantiles.estimate(agg, g.tree(agg, plan), n, lo, hi)
    raise ValueError(f"unknown aggregate kind {agg.kind!r}")


def _shown(cell: Any) -> tuple[Any, Any, Any]:
    """(value, se, ci95) of a cell as the buyer sees them (lists for a histogram)."""
    if cell is None:
        return None, None, None
    if isinstance(cell, list):
        parts = [_shown(c) for c in cell]
        return [p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts]
    return cell.value, cell.se, list(cell.ci95)


def decode_groups(
    plan: Plan, noise: NoisePlan, values: list[int], min_group_size: int, variance_factor: float = 1.0
) -> list[GroupResult]:
    """Turn the summed vector into per-group aggregates with standard errors; suppress every cell
    over fewer than ``min_group_size`` rows. ``variance_factor`` is how much more noise than
    calibrated the survivors added (``survivors / threshold``)."""
    layout = plan.layout()
    units = dict(zip(layout.components, noise.units, strict=True))
    scales = dict(zip(layout.components, layout.scales, strict=True))
    variances = {c: v * variance_factor for c, v in zip(layout.components, noise.variances, strict=True)}
    out: list[GroupResult] = []
    for key, lanes in zip(layout.groups, layout.decode(values), strict=True):
        group = _Group(lanes, units, scales, variances)
        n = stats.count(group.total("count_star", None))
        suppressed = n.value < min_group_size
        cells = {a.alias: None if suppressed else _aggregate(a, group, plan, min_group_size)
                 for a in plan.aggregates}
        shown = {alias: _shown(c) for alias, c in cells.items()}
        out.append(GroupResult(
            dict(zip(plan.group_by, key, strict=True)), {a: v[0] for a, v in shown.items()},
            int(n.value), suppressed, {a: v[1] for a, v in shown.items()},
            {a: v[2] for a, v in shown.items()}, n.se))
    return out
