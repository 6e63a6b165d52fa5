"""The text of a query result cell, as the CLI and the portal show it: value ± half its 95 % interval."""

from __future__ import annotations

from typing import Any


def cell(value: Any, ci: Any) -> str:
    """The value, ± half its 95 % interval when it has one (noised); '—' for a hidden cell; a histogram's
    bins joined by commas."""
    if isinstance(value, list):
        cis = ci if isinstance(ci, list) else [None] * len(value)
        return ", ".join(cell(v, c) for v, c in zip(value, cis, strict=True))
    if value is None:
        return "—"
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    if isinstance(ci, list) and ci[0] != ci[1]:
        text += f" ± {(float(ci[1]) - float(ci[0])) / 2:.3g}"
    return text
