"""Privacy budget amounts as integers: epsilon in 1e-9 and delta in 1e-15 units, rounded up (a charge is never
smaller than asked), so budgets compare and add exactly in SQL."""

from __future__ import annotations

import math

EPS_UNIT = 10**9
DELTA_UNIT = 10**15


def eps_units(value: float) -> int:
    return math.ceil(round(value * EPS_UNIT, 3))


def delta_units(value: float) -> int:
    return math.ceil(round(value * DELTA_UNIT, 3))
