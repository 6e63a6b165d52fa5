"""The canonical query plan a ledger records and providers execute, and its result-vector layout.

A :class:`Plan` is what :func:`privacy.sql.parse_query` produces: aggregates, group-by columns, a
WHERE tree and the column specs (bounds, public domains) it relies on; ``plan.hash()`` is the
SHA-256 of its strict canonical JSON (``ledger.canonical``). Each aggregate needs some lane
families (:class:`Component`); :class:`VectorLayout` is the one place that says where each
family's lanes sit in the integer vector providers encode and the coordinator decodes.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ledger.canonical import canonical_json
from privacy.unit import PrivacyUnit

Scalar = int | float | str
KINDS = frozenset({"count", "sum", "avg", "var", "stddev", "histogram", "quantile", "min", "max", "linreg"})
TREE_KINDS = ("quantile", "min", "max")
"""Kinds read from a column's dyadic histogram tree (:func:`tree_components`, :mod:`privacy.quantiles`)."""
QUANTILE_BINS = 256
"""Finest bins of that tree (8 levels: 2, 4, ..., 256 bins); ``privacy/README.md`` says why."""
MAX_DECIMALS = 12
# Accumulator capacity: a provider holds at most MAX_ROWS_PER_PROVIDER rows, and a row adds at most
# MAX_FIXED_POINT^2 to a sum of squares, so every local sum fits DuckDB's HUGEINT (2^127) with room
# to spare, and (with up to 2^16 providers) the ring never needs more than a few hundred bits. A regression's
# cross-product Σa·b adds at most MAX_FIXED_POINT^2 a row too, so the same rule covers its accumulators.
MAX_ROWS_PER_PROVIDER = 1 << 32
MAX_FIXED_POINT = 1 << 47


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
        if self.numeric:
            self._check_capacity()

    def _check_capacity(self) -> None:
        """Refuse decimals or bounds whose fixed-point accumulators could overflow."""
        d = self.decimals
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= MAX_DECIMALS:
            raise ValueError(f"column {self.name}: decimals must be an integer in 0..{MAX_DECIMALS}")
        if self.type == "int" and d != 0:
            raise ValueError(f"column {self.name}: integer columns have 0 decimals")
        widest = max(abs(self.lo or 0), abs(self.hi or 0)) * self.scale
        if widest > MAX_FIXED_POINT:
            raise ValueError(
                f"column {self.name}: max(|lo|, |hi|) x 10^decimals = {widest:.6g} exceeds 2^47; "
                "sums of squares and cross-products over 2^32 rows could overflow (narrow the bounds or the decimals)"
            )

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
    p: float | None = None
    """The quantile's fraction (0 < p < 1) for kind ``quantile`` (MEDIAN is 0.5)."""
    features: tuple[str, ...] = ()
    """LINREG: the regressors (``column`` is the target); empty for every other kind."""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "column": self.column, "alias": self.alias}
        if self.kind == "histogram":
            d.update(lo=self.lo, hi=self.hi, bins=self.bins)
        elif self.kind in TREE_KINDS:
            d.update(bins=self.bins, **({"p": self.p} if self.kind == "quantile" else {}))
        elif self.kind == "linreg":
            d["features"] = list(self.features)
        return d

    @property
    def used(self) -> tuple[str, ...]:
        """Every column this aggregate reads its values from."""
        return tuple(c for c in (self.column, *self.features) if c is not None)


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
    """A lane family of the provider's local vector: count_star, count, sum, sumsq, hist, and xprod (the sum
    of ``column × other``, a cross-product lane of a regression's moment matrix)."""

    stat: str
    column: str | None = None
    lo: float | None = None
    hi: float | None = None
    bins: int | None = None
    other: str | None = None

    @property
    def lanes(self) -> int:
        return int(self.bins) if self.stat == "hist" and self.bins else 1


def tree_components(spec: ColumnSpec, bins: int) -> list[Component]:
    """A column's dyadic histogram tree over its declared bounds, coarsest level first: histograms of
    2, 4, ..., ``bins`` bins (a power of two). Each level is an ordinary ``hist`` lane family, so nodes,
    calibration and policies treat it as any histogram (one row moves one lane per level)."""
    levels = bins.bit_length() - 1
    return [Component("hist", spec.name, spec.lo, spec.hi, 1 << j) for j in range(1, levels + 1)]


@dataclass(frozen=True)
class Plan:
    """Canonical query plan; what the ledger records and what providers execute."""

    aggregates: tuple[Aggregate, ...]
    group_by: tuple[str, ...]
    where: Cond | None
    columns: tuple[ColumnSpec, ...]
    version: int = 1
    in_domain: tuple[str, ...] = ()
    """Columns whose value must lie in their public domain for a row to count at all (exact
    products: see :mod:`privacy.disclosure`); empty for everything else."""
    privacy_unit: PrivacyUnit | None = None
    """The ID column whose contribution each node bounds before aggregating (:mod:`privacy.unit`);
    None: a row is the unit."""
    complete: tuple[str, ...] = ()
    """Columns that must all be non-NULL for a row to count at all (LINREG's complete cases: then
    ``COUNT(*)`` is the number of rows the fit uses); empty for everything else."""

    @property
    def kinds(self) -> set[str]:
        return {a.kind for a in self.aggregates}

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "version": self.version,
            "aggregates": [a.to_dict() for a in self.aggregates],
            "group_by": list(self.group_by),
            "where": self.where.to_dict() if self.where else None,
            "columns": [c.to_dict() for c in self.columns],
        }
        if self.in_domain:
            d["in_domain"] = list(self.in_domain)
        if self.privacy_unit is not None:
            d["privacy_unit"] = self.privacy_unit.to_dict()
        if self.complete:
            d["complete"] = list(self.complete)
        return d

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
                    p=a.get("p"),
                    features=tuple(str(f) for f in a.get("features") or ()),
                )
                for a in d["aggregates"]
            ),
            group_by=tuple(d["group_by"]),
            where=Cond.from_dict(d["where"]) if d.get("where") else None,
            columns=tuple(ColumnSpec.from_dict(c) for c in d["columns"]),
            version=int(d.get("version", 1)),
            in_domain=tuple(str(c) for c in d.get("in_domain") or ()),
            privacy_unit=PrivacyUnit.from_dict(d["privacy_unit"]) if d.get("privacy_unit") else None,
            complete=tuple(str(c) for c in d.get("complete") or ()),
        )

    def __post_init__(self) -> None:
        for name in self.in_domain:
            if not self.column(name).domain:
                raise ValueError(f"in_domain column {name} has no public domain")

    def canonical(self) -> str:
        """The plan's strict canonical JSON (``ledger.canonical``), as text."""
        return canonical_json(self.to_dict()).decode("utf-8")

    def hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON: the plan hash the ledger records."""
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()

    def groups(self) -> list[tuple[str | int, ...]]:
        """All groups, in vector order: the cartesian product of the public domains."""
        domains = [self.column(g).domain or () for g in self.group_by]
        return list(itertools.product(*domains))

    def components(self) -> list[Component]:
        """Lane families per group (deduplicated); count_star always first. Every statistic of a
        column brings that column's count, which decides whether its cell may be shown."""
        out: list[Component] = [Component("count_star")]
        for a in self.aggregates:
            wanted: list[Component] = []
            if a.kind == "count" and a.column is not None:
                wanted = [Component("count", a.column)]
            elif a.kind in ("sum", "avg"):
                wanted = [Component("sum", a.column), Component("count", a.column)]
            elif a.kind in ("var", "stddev"):
                wanted = [
                    Component("sum", a.column),
                    Component("sumsq", a.column),
                    Component("count", a.column),
                ]
            elif a.kind == "histogram":
                wanted = [Component("hist", a.column, a.lo, a.hi, a.bins), Component("count", a.column)]
            elif a.kind in TREE_KINDS:
                wanted = [*tree_components(self.column(str(a.column)), int(a.bins or QUANTILE_BINS)),
                          Component("count", a.column)]
            elif a.kind == "linreg":
                wanted = moment_components(a)
            for c in wanted:
                if c not in out:
                    out.append(c)
        return out

    def layout(self) -> VectorLayout:
        """Where each group's lane families sit in this plan's vector."""
        return VectorLayout.of(self)

    def lanes_per_group(self) -> int:
        return self.layout().width

    def vector_length(self) -> int:
        return self.layout().length


@dataclass(frozen=True)
class VectorLayout:
    """The result vector of a plan: group-major, then lane families in ``plan.components()``
    order, a histogram taking one lane per bin. Providers build their local vector with
    :meth:`encode`; the coordinator splits the unmasked total back into lanes with :meth:`decode`.

    Sums are fixed-point: each row adds ``round(v * scale)`` (squared for sums of squares),
    divided by the noise plan's ``unit``, so a decoded value is ``lane * unit / scales[i]``.
    """

    groups: tuple[tuple[str | int, ...], ...]
    components: tuple[Component, ...]
    offsets: tuple[int, ...]
    scales: tuple[int, ...]
    width: int

    @classmethod
    def of(cls, plan: Plan) -> VectorLayout:
        comps = tuple(plan.components())
        offsets, scales, width = [], [], 0
        for comp in comps:
            offsets.append(width)
            width += comp.lanes
            scale = plan.column(comp.column).scale if comp.column and comp.stat in ("sum", "sumsq", "xprod") else 1
            if comp.stat == "sumsq":
                scale *= scale
            elif comp.stat == "xprod":
                scale *= plan.column(str(comp.other)).scale
            scales.append(scale)
        return cls(tuple(plan.groups()), comps, tuple(offsets), tuple(scales), width)

    @property
    def length(self) -> int:
        return len(self.groups) * self.width

    def encode(self, cells: Iterable[tuple[int, int, int, int]]) -> list[int]:
        """The vector with ``value`` at each ``(group, component, lane, value)``; 0 elsewhere."""
        vec = [0] * self.length
        for group, comp, lane, value in cells:
            vec[group * self.width + self.offsets[comp] + lane] = value
        return vec

    def decode(self, vector: Sequence[int]) -> list[dict[Component, Sequence[int]]]:
        """Per group, each lane family's lanes (a histogram's bins, else one lane)."""
        if len(vector) != self.length:
            raise ValueError(f"vector has {len(vector)} lanes, the plan needs {self.length}")
        spans = [(c, off, off + c.lanes) for c, off in zip(self.components, self.offsets, strict=True)]
        return [
            {comp: vector[base + lo : base + hi] for comp, lo, hi in spans}
            for base in range(0, self.length, self.width)
        ]

    def expand(self, per_component: Sequence[float]) -> list[float]:
        """One value per lane family, repeated on each of its lanes in every group."""
        per_group: list[float] = []
        for comp, value in zip(self.components, per_component, strict=True):
            per_group.extend([value] * comp.lanes)
        return per_group * len(self.groups)



def moment_components(agg: Aggregate) -> list[Component]:
    """The lane families of ``LINREG(y, x1..xk)``: with z = (x1..xk, y) and the plan restricted to complete
    cases (``Plan.complete``), COUNT(*) is n, and these are Σz_a, Σz_a² and Σz_a·z_b (a < b): the upper
    triangle of the moment matrix of (1, x1..xk, y), i.e. XᵀX, Xᵀy and yᵀy with the intercept column."""
    z = [*agg.features, str(agg.column)]
    out = [Component("sum", c) for c in z] + [Component("sumsq", c) for c in z]
    out += [Component("xprod", a, other=b) for i, a in enumerate(z) for b in z[i + 1:]]
    return out

