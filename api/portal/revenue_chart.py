"""Geometry of the operator's revenue-over-time chart (inline SVG): one column per period, settled revenue
stacked under what is still held in escrow. Pure function over the statement's `income` rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 70, 28, 12


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    width: float
    settled_fen: int
    escrowed_fen: int
    settled_y: float
    settled_h: float
    escrowed_y: float
    escrowed_h: float


@dataclass(frozen=True)
class RevenueChart:
    columns: list[Column]
    top_fen: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    base_y: int = HEIGHT - BOTTOM


def revenue_chart(income: list[dict[str, Any]]) -> RevenueChart | None:
    """Columns of revenue per period (all products and payee roles together), oldest first; None without any."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in income:
        totals[row["period"]][0] += int(row.get("amount_fen") or 0)
        totals[row["period"]][1] += int(row.get("escrowed_fen") or 0)
    if not totals:
        return None
    top = max(sum(v) for v in totals.values()) or 1
    span_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - 10) / len(totals)
    width = min(60.0, step * 0.7)
    columns = []
    for i, (label, (settled, escrowed)) in enumerate(sorted(totals.items())):
        sh, eh = settled / top * span_h, escrowed / top * span_h
        base = HEIGHT - BOTTOM
        columns.append(Column(label, LEFT + i * step + (step - width) / 2, width, settled, escrowed,
                              base - sh, sh, base - sh - eh, eh))
    return RevenueChart(columns, top)
