"""A linear regression fitted from noised moments: coefficients, standard errors, n and R².

``LINREG(y, x1..xk)`` releases nothing but this fit. Its plan's lanes (:func:`privacy.plan.moment_components`)
sum, over the complete cases, the moment matrix M of z = (1, x1..xk, y): A = XᵀX (with the intercept column),
b = Xᵀy, yᵀy and n = M[0][0]. Each lane carries Skellam noise of a known variance (and, for a sum quantised by
``unit``, the per-row rounding's rows·unit²/12).

* **Solve.** β = A⁻¹b in exact rational arithmetic (no loss of precision however the columns are scaled; p ≤ 11).
* **Positive definite** (post-processing, no privacy cost). Noise can make A indefinite. If it is (a pivot of
  its LDLᵀ factorisation ≤ 0), c·sd_i is added to each diagonal entry, sd_i the noise standard deviation of
  that lane (at least 10⁻⁹·|A_ii|), with c = 1, 2, 4, … until A is positive definite; c is released as
  ``ridge`` (0: none was needed).
* **Standard errors.** Var(β̂_j) = σ̂²(A⁻¹)_jj (sampling: σ̂² = RSS / (n − k − 1)) plus the noise's part by the
  delta method: dβ = A⁻¹(db − dA·β), each noise lane independent with its known variance. The noise part alone
  is released as ``se_noise``. First-order: good when the noise is small against the moments (large n).
* **R²** = 1 − RSS/TSS with RSS = yᵀy − 2βᵀb + βᵀAβ and TSS = yᵀy − (Σy)²/n, clamped into [0, 1].

A fit needs more complete cases than coefficients; otherwise the cell is undefined (None).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from privacy.plan import Aggregate, Component

INTERCEPT = "(intercept)"
MAX_RIDGE_STEPS = 60
Moment = tuple[Fraction, float]
"""A lane's value in the columns' own units and its noise variance."""


@dataclass(frozen=True)
class LinearFit:
    """What a buyer is shown of a fit: ``value`` (terms, coefficients, n, R², ...), ``se`` and ``ci95``."""

    terms: list[str]
    coef: list[float]
    se: list[float]
    se_noise: list[float]
    n: int
    r2: float
    residual_sd: float
    ridge: float

    @property
    def value(self) -> dict[str, Any]:
        return {"terms": self.terms, "coef": self.coef, "se_noise": self.se_noise, "n": self.n, "r2": self.r2,
                "residual_sd": self.residual_sd, "ridge": self.ridge}

    @property
    def ci95(self) -> list[list[float]]:
        return [[c - 1.96 * s, c + 1.96 * s] for c, s in zip(self.coef, self.se, strict=True)]


def _matrix(agg: Aggregate, read: Callable[[Component], Moment]) -> tuple[list[list[Fraction]], list[list[float]]]:
    """M and the noise variance of each of its entries, over (1, x1..xk, y)."""
    z = [*agg.features, str(agg.column)]
    size = len(z) + 1
    m = [[Fraction(0)] * size for _ in range(size)]
    v = [[0.0] * size for _ in range(size)]

    def put(i: int, j: int, comp: Component) -> None:
        m[i][j], v[i][j] = read(comp)
        m[j][i], v[j][i] = m[i][j], v[i][j]

    put(0, 0, Component("count_star"))
    for i, a in enumerate(z, 1):
        put(0, i, Component("sum", a))
        put(i, i, Component("sumsq", a))
        for j, b in enumerate(z[i:], i + 1):
            put(i, j, Component("xprod", a, other=b))
    return m, v


def _positive_definite(a: list[list[Fraction]]) -> bool:
    """Every pivot of the LDLᵀ (Gaussian elimination without pivoting) of symmetric ``a`` is > 0."""
    w = [row[:] for row in a]
    for k in range(len(w)):
        if w[k][k] <= 0:
            return False
        for i in range(k + 1, len(w)):
            f = w[i][k] / w[k][k]
            for j in range(k, len(w)):
                w[i][j] -= f * w[k][j]
    return True


def _inverse(a: list[list[Fraction]]) -> list[list[Fraction]]:
    """Gauss-Jordan inverse of a positive definite matrix (its pivots are positive: no row swaps)."""
    p = len(a)
    w = [row[:] + [Fraction(int(i == j)) for j in range(p)] for i, row in enumerate(a)]
    for k in range(p):
        pivot = w[k][k]
        w[k] = [x / pivot for x in w[k]]
        for i in range(p):
            if i != k and w[i][k]:
                f = w[i][k]
                w[i] = [x - f * y for x, y in zip(w[i], w[k], strict=True)]
    return [row[p:] for row in w]


def _shifted(a: list[list[Fraction]], sd: list[float]) -> tuple[list[list[Fraction]], float] | None:
    """``a`` made positive definite by the smallest c in 0, 1, 2, 4, ... (c·sd_i added to the diagonal)."""
    for step in range(MAX_RIDGE_STEPS + 1):
        c = 0.0 if step == 0 else 2.0 ** (step - 1)
        trial = [[x + (Fraction(c * sd[i]) if i == j else 0) for j, x in enumerate(row)] for i, row in enumerate(a)]
        if _positive_definite(trial):
            return trial, c
    return None


def _noise_variance(ainv: list[list[float]], beta: list[float], v: list[list[float]]) -> list[float]:
    """Delta method: each noise lane e of A (i ≤ j) or b moves β by −A⁻¹(E β) or A⁻¹e."""
    p = len(beta)
    out = [0.0] * p
    for i in range(p):
        for j in range(i, p + 1):
            var = v[i][j]
            if var <= 0:
                continue
            if j == p:
                g = [ainv[c][i] for c in range(p)]
            elif i == j:
                g = [-ainv[c][i] * beta[i] for c in range(p)]
            else:
                g = [-(ainv[c][i] * beta[j] + ainv[c][j] * beta[i]) for c in range(p)]
            for c in range(p):
                out[c] += var * g[c] * g[c]
    return out


def fit(agg: Aggregate, read: Callable[[Component], Moment]) -> LinearFit | None:
    """The least-squares fit of ``agg`` (a LINREG) from its noised moments, or None with too few cases."""
    m, v = _matrix(agg, read)
    p = len(agg.features) + 1
    n = m[0][0]
    if n <= p:
        return None
    a = [row[:p] for row in m[:p]]
    b = [row[p] for row in m[:p]]
    yy = m[p][p]
    sd = [max(math.sqrt(v[i][i]), 1e-9 * abs(float(a[i][i]))) for i in range(p)]
    shifted = _shifted(a, sd)
    if shifted is None:
        return None
    a_pd, ridge = shifted
    ainv_exact = _inverse(a_pd)
    beta_exact = [sum((ainv_exact[i][j] * b[j] for j in range(p)), Fraction(0)) for i in range(p)]
    ab = [sum((a[i][j] * beta_exact[j] for j in range(p)), Fraction(0)) for i in range(p)]
    rss = max(0.0, float(yy - 2 * sum(x * y for x, y in zip(beta_exact, b, strict=True))
                         + sum(x * y for x, y in zip(beta_exact, ab, strict=True))))
    tss = float(yy - m[0][p] * m[0][p] / n)
    sigma2 = rss / float(n - p)
    ainv = [[float(x) for x in row] for row in ainv_exact]
    beta = [float(x) for x in beta_exact]
    noise = _noise_variance(ainv, beta, v)
    se = [math.sqrt(max(0.0, sigma2 * ainv[j][j]) + noise[j]) for j in range(p)]
    r2 = min(1.0, max(0.0, 1 - rss / tss)) if tss > 0 else 0.0
    return LinearFit([INTERCEPT, *agg.features], beta, se, [math.sqrt(x) for x in noise], round(n), r2,
                     math.sqrt(sigma2), ridge)
