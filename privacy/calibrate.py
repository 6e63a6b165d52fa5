"""Turn a plan and (epsilon, delta) into per-component quantisation units and noise variances.

Neighbouring datasets differ by one row (add/remove); a row lands in one group, so it moves
each lane family by at most its per-row bound. Values are clipped to the declared bounds and
fixed-point encoded (``round(v * scale)``); when noise is on, large families are further
quantised per row by an integer ``unit`` so that their sensitivity is at most 2^16 units,
which keeps Poisson means in exact double range. The query's rho is split evenly over the
lane families, and each family's variance is the smallest whose Skellam rho fits its share.

A regression's moment vector (``LINREG``: n, Σz_a, Σz_a², Σz_a·z_b) is one lane family per moment, each with
its own per-row bound |a|max·|b|max: after dividing each lane by its bound, a row moves the m-lane vector by at
most √m in L2, and the even split gives every lane σ = bound·√(m / 2ρ) (to the Gaussian approximation of
Skellam), the calibration for that L2 sensitivity.

With a privacy unit (:mod:`privacy.unit`) neighbours differ by one ID, not one row: every family's
per-row bound is multiplied by the unit's L1 and L2 factors (P·G·R and P·√G·R), whatever the family,
so the rho charged is per ID; the quantisation unit then keeps the whole ID's sensitivity within 2^16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from privacy.accountant import epsilon_from_rho, rho_from_epsilon, skellam_rho
from privacy.accountant import skellam_variance_for as _variance_for
from privacy.errors import DPConfigError
from privacy.plan import QUANTILE_BINS, TREE_KINDS, Component, Plan, tree_components
from privacy.quantiles import rank_sd
from privacy.unit import factors

MAX_SENSITIVITY_UNITS = 1 << 16


@dataclass(frozen=True)
class DPParams:
    """What a query may spend: (epsilon, delta)-DP, converted to zCDP rho."""

    epsilon: float
    delta: float = 1e-6

    @property
    def rho(self) -> float:
        return rho_from_epsilon(self.epsilon, self.delta)


@dataclass(frozen=True)
class NoisePlan:
    """Per component (in ``plan.components()`` order): unit and total per-lane variance."""

    units: tuple[int, ...]
    variances: tuple[float, ...]
    rho: float
    delta: float

    @property
    def epsilon(self) -> float:
        return epsilon_from_rho(self.rho, self.delta) if self.rho else 0.0

    @property
    def enabled(self) -> bool:
        return any(v > 0 for v in self.variances)

    def to_dict(self) -> dict[str, Any]:
        return {"units": list(self.units), "variances": list(self.variances)}


def raw_sensitivity(plan: Plan, comp: Component) -> int:
    """Per-row bound of a component in fixed-point units (before extra quantisation)."""
    if comp.stat in ("count_star", "count", "hist"):
        return 1
    assert comp.column is not None
    bound = _fixed_bound(plan, comp.column)
    if comp.stat == "xprod":  # a regression's cross-product lane Σa·b
        return max(1, math.ceil(bound * _fixed_bound(plan, str(comp.other))))
    return max(1, math.ceil(bound if comp.stat == "sum" else bound * bound))


def _fixed_bound(plan: Plan, column: str) -> float:
    spec = plan.column(column)
    return max(abs(float(spec.lo or 0)), abs(float(spec.hi or 0))) * spec.scale


def group_count(plan: Plan) -> int:
    """How many groups the plan's vector has (the product of its group-by domains)."""
    return math.prod(len(plan.column(g).domain or ()) for g in plan.group_by)


def quantisation_unit(plan: Plan, comp: Component) -> int:
    """The per-row quantisation of a family: its whole per-ID sensitivity stays within 2^16 units."""
    raw = raw_sensitivity(plan, comp)
    if raw == 1:
        return 1
    l1f, _ = factors(plan.privacy_unit, group_count(plan))
    return max(1, min(raw, math.ceil(raw * l1f / MAX_SENSITIVITY_UNITS)))


def sensitivity(plan: Plan, comp: Component, unit: int, per_node: bool = False) -> tuple[float, float]:
    """(L1, L2) sensitivity of a family in quantised units: the per-row bound times the privacy unit's
    factors (``per_node``: one node's own rows, P = 1)."""
    per_row = math.ceil(raw_sensitivity(plan, comp) / unit)
    pu = plan.privacy_unit.per_node() if per_node and plan.privacy_unit else plan.privacy_unit
    l1f, l2f = factors(pu, group_count(plan))
    return per_row * l1f, per_row * l2f


def no_noise(plan: Plan) -> NoisePlan:
    n = len(plan.components())
    return NoisePlan(units=(1,) * n, variances=(0.0,) * n, rho=0.0, delta=0.0)


def calibrate(plan: Plan, dp: DPParams | None) -> NoisePlan:
    """Noise for ``dp`` (or none when ``dp`` is None; only for non-personal products)."""
    if dp is None:
        return no_noise(plan)
    comps = plan.components()
    rho_each = dp.rho / len(comps)
    if rho_each <= 0:
        raise DPConfigError("epsilon too small")
    units, variances, total = [], [], 0.0
    for comp in comps:
        unit = quantisation_unit(plan, comp)
        l1, l2 = sensitivity(plan, comp, unit)
        var = _variance_for(l1, l2, rho_each)
        units.append(unit)
        variances.append(var)
        total += skellam_rho(l1, l2, var)
    return NoisePlan(tuple(units), tuple(variances), total, dp.delta)


def lane_variances(plan: Plan, noise: NoisePlan) -> list[float]:
    """Expand per-component variances to the full vector layout (groups x lanes)."""
    return plan.layout().expand(noise.variances)


@dataclass(frozen=True)
class ComponentError:
    """How much noise a released total carries, in the column's own units: the standard deviation and the 95 %
    half-width (1.96 sd). Derived statistics divide it: an average's error is about `sd / n` of its count `n`.
    `quantum` is the per-row rounding of a quantised total (0 when none), which adds up to `quantum / 2` a row.
    For a quantile, MIN or MAX (`stat` is its kind) `sd` is in rows of rank (the most any edge's count carries)
    and `quantum` is the tree's bin width: its interval spans the values whose rank is within 1.96 sd of the
    asked one, to whole bins."""

    stat: str
    column: str | None
    sd: float
    ci95_half_width: float
    quantum: float
    bins: int | None = None


def component_errors(plan: Plan, noise: NoisePlan, variance_factor: float = 1.0) -> list[ComponentError]:
    """The error each lane family of `plan` will carry under `noise` (`variance_factor` as in
    `privacy.result.decode_groups`: how much more noise than calibrated the survivors add)."""
    layout = plan.layout()
    out = []
    for comp, unit, scale, var in zip(layout.components, noise.units, layout.scales, noise.variances, strict=True):
        sd = math.sqrt(var * variance_factor) * unit / scale
        out.append(ComponentError(comp.stat, comp.column, sd, 1.96 * sd, unit / scale if unit > 1 else 0.0,
                                  comp.bins if comp.stat == "hist" else None))
    return out + _tree_errors(plan, noise, variance_factor)


def _tree_errors(plan: Plan, noise: NoisePlan, variance_factor: float) -> list[ComponentError]:
    """One entry per quantile, MIN or MAX: its rank error in rows and the tree's bin width."""
    var = {c: v * variance_factor for c, v in zip(plan.components(), noise.variances, strict=True)}
    out = []
    for a in plan.aggregates:
        if a.kind in TREE_KINDS:
            spec, bins = plan.column(str(a.column)), int(a.bins or QUANTILE_BINS)
            sd = rank_sd(a, [var[c] for c in tree_components(spec, bins)], var[Component("count", a.column)])
            out.append(ComponentError(a.kind, a.column, sd, 1.96 * sd, (float(spec.hi or 0) - float(spec.lo or 0))
                                      / bins, bins))
    return out
