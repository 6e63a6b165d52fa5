"""The text of a query result cell, as the CLI and the portal show it: value ± half its 95 % interval; a fitted
model's coefficients the same way."""

from __future__ import annotations

from typing import Any


def cell(value: Any, ci: Any) -> str:
    """The value, ± half its 95 % interval when it has one (noised); '—' for a hidden cell; a histogram's
    bins joined by commas."""
    if isinstance(value, dict):  # a LINREG fit
        return "; ".join(f"{t} {c}" for t, c, _ in fit_rows(value, ci)) + f" (n {value['n']}, R² {value['r2']:.3f})"
    if isinstance(value, list):
        cis = ci if isinstance(ci, list) else [None] * len(value)
        return ", ".join(cell(v, c) for v, c in zip(value, cis, strict=True))
    if value is None:
        return "—"
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    if isinstance(ci, list) and ci[0] != ci[1]:
        text += f" ± {(float(ci[1]) - float(ci[0])) / 2:.3g}"
    return text


def fit_rows(fit: dict[str, Any], ci95: Any) -> list[tuple[str, str, str]]:
    """A fitted linear model's rows: term, coefficient ± half its 95 % interval, and the noise's share of its
    standard error (se_noise)."""
    cis = ci95 if isinstance(ci95, list) else [None] * len(fit["coef"])
    return [(term, cell(float(c), ci), f"{sn:.3g}")
            for term, c, ci, sn in zip(fit["terms"], fit["coef"], cis, fit["se_noise"], strict=True)]
