"""Released statistics from (noised) totals: the estimate, post-processed into its valid range, with
its standard error and 95 % interval from the noise calibration.

Each total (a lane family's sum over the surviving providers) carries independent Skellam noise of
known variance; :class:`Total` holds the value and that variance in the column's own units.
Ratios use the first-order delta method, an approximation that is good when the count is large
against its noise (for AVG: Var(S/N) ≈ Var(S)/N² + S²·Var(N)/N⁴); the estimate and its interval are
then clamped into the statistic's valid range (AVG within the column bounds, VAR and STDDEV ≥ 0 and
at most the largest sample variance the bounds allow, counts ≥ 0). Clamping is post-processing of
a differentially private output, so it costs no privacy. Exact (noise-off) totals have variance 0,
so their standard error is 0 and their interval is the value itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

Z95 = 1.959963984540054
Number = int | float


@dataclass(frozen=True)
class Total:
    """A noised total (exact rational) and the variance of its noise, in the column's units."""

    value: Fraction
    var: float


@dataclass(frozen=True)
class Estimate:
    """One released number: value, standard error and 95 % interval [lo, hi]."""

    value: Number
    se: float
    ci95: tuple[Number, Number]


def _num(x: Fraction | float) -> Number:
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else float(x)
    return x


def _interval(value: Number, se: float, lo: float, hi: float) -> tuple[Number, Number]:
    if se == 0:
        return (value, value)
    return (min(hi, max(lo, value - Z95 * se)), max(lo, min(hi, value + Z95 * se)))


def estimate(value: Fraction | float, var: float, lo: float = -math.inf, hi: float = math.inf) -> Estimate:
    """``value`` clamped into [lo, hi], with standard error √var and its clamped 95 % interval."""
    se = math.sqrt(max(0.0, var))
    clamped: Fraction | float = lo if value < lo else hi if value > hi else value
    shown = _num(clamped)
    return Estimate(shown, se, _interval(shown, se, lo, hi))


def count(n: Total) -> Estimate:
    """A count, at least 0."""
    return estimate(n.value, n.var, 0.0)


def total(s: Total, n: Total) -> Estimate | None:
    """A sum (not clamped: its range depends on the unknown count); None, as SQL's NULL, when the
    (noised) count of values is not positive."""
    return estimate(s.value, s.var) if n.value > 0 else None


def mean(s: Total, n: Total, lo: float, hi: float) -> Estimate | None:
    """AVG = S/N within [lo, hi]; None when the noised count is not positive."""
    if n.value <= 0:
        return None
    nf, sf = float(n.value), float(s.value)
    var = s.var / nf**2 + sf**2 * n.var / nf**4
    return estimate(s.value / n.value, var, lo, hi)


def variance(s: Total, ss: Total, n: Total, lo: float, hi: float, *, sd: bool) -> Estimate | None:
    """Sample VAR (or STDDEV with ``sd``) from sum, sum of squares and count; None for N ≤ 1."""
    if n.value <= 1:
        return None
    v = (ss.value - s.value * s.value / n.value) / (n.value - 1)
    nf, sf, vf = float(n.value), float(s.value), float(v)
    g_ss, g_s, g_n = 1 / (nf - 1), -2 * sf / (nf * (nf - 1)), (sf * sf / (nf * nf) - vf) / (nf - 1)
    var_v = g_ss**2 * ss.var + g_s**2 * s.var + g_n**2 * n.var
    top = (hi - lo) ** 2 / 4 * nf / (nf - 1)  # the largest sample variance of values in [lo, hi]
    if not sd:
        return estimate(v, var_v, 0.0, top)
    vc = min(max(vf, 0.0), top)
    root = math.sqrt(vc)
    se_v = math.sqrt(max(0.0, var_v))
    se = se_v / (2 * root) if root > 0 else math.sqrt(se_v)
    if var_v == 0:
        return Estimate(root, 0.0, (root, root))
    return estimate(root, se * se, 0.0, math.sqrt(top))
