"""A query's result: per-group aggregates decoded from the unmasked total, and its result hash.

:func:`decode_groups` reads the summed vector through the plan's :class:`~privacy.plan.VectorLayout`
and turns lane families into the aggregates asked for, suppressing groups whose (noised)
``COUNT(*)`` is below the minimum group size. :meth:`AggregateResult.hash` is the result hash a
query record carries: SHA-256 of the strict canonical JSON (``ledger.canonical``) of exactly what
the buyer is shown (``to_dict()``). Shown values are integers, finite floats, lists of integers or
null, all of which that encoding accepts as they are, so nothing is converted for hashing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger.canonical import canonical_json
from privacy.calibrate import NoisePlan
from privacy.plan import Aggregate, Component, Plan

DEFAULT_MIN_GROUP_SIZE = 10


@dataclass
class GroupResult:
    key: dict[str, str | int]
    values: dict[str, Any]
    count: int
    suppressed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.key,
            "values": self.values,
            "count": None if self.suppressed else self.count,
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
    """One group's lane families, read back as exact rationals in the columns' own units."""

    lanes: dict[Component, Sequence[int]]
    units: dict[Component, int]
    scales: dict[Component, int]

    def total(self, stat: str, column: str | None) -> Fraction:
        comp = Component(stat, column)
        return Fraction(self.lanes[comp][0] * self.units[comp], self.scales[comp])

    def bins(self, agg: Aggregate) -> list[int]:
        return list(self.lanes[Component("hist", agg.column, agg.lo, agg.hi, agg.bins)])


def _aggregate(agg: Aggregate, g: _Group) -> Any:
    """The value of one aggregate in one group (None where it is undefined)."""
    if agg.kind == "count":
        return int(g.total("count_star" if agg.column is None else "count", agg.column))
    if agg.kind == "sum":
        s = g.total("sum", agg.column)
        return int(s) if s.denominator == 1 else float(s)
    if agg.kind == "avg":
        n = g.total("count", agg.column)
        return float(g.total("sum", agg.column) / n) if n > 0 else None
    if agg.kind in ("var", "stddev"):
        n = g.total("count", agg.column)
        if n <= 1:
            return None
        s, ss = g.total("sum", agg.column), g.total("sumsq", agg.column)
        var = max(Fraction(0), (ss - s * s / n) / (n - 1))
        return float(var) if agg.kind == "var" else math.sqrt(var)
    if agg.kind == "histogram":
        return g.bins(agg)
    raise ValueError(f"unknown aggregate kind {agg.kind!r}")


def decode_groups(
    plan: Plan, noise: NoisePlan, values: list[int], min_group_size: int
) -> list[GroupResult]:
    """Turn the summed vector into per-group aggregates; suppress small noised groups."""
    layout = plan.layout()
    units = dict(zip(layout.components, noise.units, strict=True))
    scales = dict(zip(layout.components, layout.scales, strict=True))
    out: list[GroupResult] = []
    for key, lanes in zip(layout.groups, layout.decode(values), strict=True):
        group = _Group(lanes, units, scales)
        count = int(group.total("count_star", None))
        suppressed = count < min_group_size
        result = {a.alias: None if suppressed else _aggregate(a, group) for a in plan.aggregates}
        out.append(
            GroupResult(dict(zip(plan.group_by, key, strict=True)), result, count, suppressed)
        )
    return out
