"""Privacy accounting in zero-concentrated DP (zCDP). Pure math, no storage.

Budgets are (epsilon, delta) pairs converted to a zCDP budget ``rho``; queries cost ``rho``
and compose by addition (Bun & Steinke 2016), so a spending decision is the single inequality
``spent_rho + cost_rho <= budget_rho`` that the registry can check atomically in SQL. Spent
``rho`` converts back to (epsilon, delta) with ``epsilon = rho + 2 sqrt(rho ln(1/delta))``.

A query's cost comes from the Skellam mechanism bound (Agarwal, Kairouz, Liu 2021, Thm 3.5):
with Skellam noise of variance ``2 mu`` per lane, L1/L2 sensitivities ``d1``/``d2``,
RDP(alpha) <= alpha d2^2/(4 mu) + ((2 alpha - 1) d2^2 + 6 d1)/(16 mu^2). For alpha >= 1 this is
at most alpha * rho with ``rho = d2^2/(4mu) + d2^2/(8mu^2) + max(0, (6 d1 - d2^2)/(16 mu^2))``,
i.e. rho-zCDP. Lane families with independent noise compose by adding their rho.
"""

from __future__ import annotations

import math

from privacy.errors import BudgetExceeded, DPConfigError


def _check(epsilon: float, delta: float) -> None:
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise DPConfigError(f"epsilon must be positive and finite, got {epsilon}")
    if not 0 < delta < 1:
        raise DPConfigError(f"delta must be in (0, 1), got {delta}")


def rho_from_epsilon(epsilon: float, delta: float) -> float:
    """Largest rho whose (epsilon, delta) conversion is within ``epsilon``."""
    _check(epsilon, delta)
    log_term = math.log(1 / delta)
    return (math.sqrt(log_term + epsilon) - math.sqrt(log_term)) ** 2


def epsilon_from_rho(rho: float, delta: float) -> float:
    """(epsilon, delta)-DP implied by rho-zCDP."""
    if rho < 0:
        raise DPConfigError("rho must be non-negative")
    if not 0 < delta < 1:
        raise DPConfigError(f"delta must be in (0, 1), got {delta}")
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


def skellam_rho(l1: float, l2: float, variance: float) -> float:
    """zCDP rho of symmetric Skellam noise with total ``variance`` per lane."""
    if variance <= 0:
        return math.inf
    mu = variance / 2
    return l2**2 / (4 * mu) + l2**2 / (8 * mu**2) + max(0.0, (6 * l1 - l2**2) / (16 * mu**2))


def skellam_variance_for(l1: float, l2: float, rho: float) -> float:
    """Smallest per-lane variance (within 0.1%) whose Skellam rho is at most ``rho``."""
    if rho <= 0:
        raise DPConfigError("rho must be positive")
    variance = l2**2 / (2 * rho)
    while skellam_rho(l1, l2, variance) > rho:
        variance *= 1.001
    return variance


def remaining_epsilon(budget_rho: float, spent_rho: float, delta: float) -> float:
    """Epsilon (at ``delta``) of one more query that would spend all that is left."""
    return epsilon_from_rho(max(0.0, budget_rho - spent_rho), delta)


def can_spend(budget_rho: float, spent_rho: float, cost_rho: float) -> bool:
    """The whole spending rule: ``spent + cost <= budget`` (with a 1e-12 float tolerance)."""
    return spent_rho + cost_rho <= budget_rho * (1 + 1e-12)


def check_spend(budget_rho: float, spent_rho: float, cost_rho: float, delta: float) -> None:
    """Raise :class:`BudgetExceeded` saying what is left when the query does not fit."""
    if not can_spend(budget_rho, spent_rho, cost_rho):
        left = max(0.0, budget_rho - spent_rho)
        raise BudgetExceeded(
            f"query needs rho={cost_rho:.6g} (epsilon={epsilon_from_rho(cost_rho, delta):.4g} "
            f"at delta={delta:g}) but only rho={left:.6g} "
            f"(epsilon={epsilon_from_rho(left, delta):.4g} at delta={delta:g}) is left"
        )
