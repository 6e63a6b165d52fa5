"""Geometry for the portal's inline SVG: a bar chart of a query result (with 95 % error bars), the
privacy-budget gauge and the spend-over-time line beside it.

Pure functions over the API's JSON; the templates only draw what these return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WIDTH, BAR_H, GAP, LABEL_W = 640, 18, 6, 170


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    y: int
    width: float
    err: tuple[float, float] | None = None  # x offsets of the 95 % interval (magnitudes, like width)


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    height: int
    max_value: float


def _label(group: dict[str, Any]) -> str:
    return " / ".join(str(v) for v in group.values()) or "∑"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _rows(groups: list[dict[str, Any]], alias: str) -> list[tuple[str, float | None, Any]]:
    """(label, value, 95 % interval) per bar: one per group, or one per bin for a single histogram."""
    first = groups[0]["values"].get(alias)
    ci = groups[0].get("ci95", {}).get(alias)
    if len(groups) == 1 and isinstance(first, list):
        cis = ci if isinstance(ci, list) else [None] * len(first)
        return [(f"bin {i + 1}", _num(v), c) for i, (v, c) in enumerate(zip(first, cis, strict=True))]
    return [(_label(g["group"]), _num(g["values"].get(alias)), g.get("ci95", {}).get(alias)) for g in groups]


def bar_chart(groups: list[dict[str, Any]]) -> BarChart | None:
    """Bars of the result's first aggregate, each with its 95 % interval as an error bar."""
    if not groups:
        return None
    aliases = list(groups[0].get("values") or {})
    if not aliases:
        return None
    rows = _rows(groups, aliases[0])
    reach = [abs(float(x)) for _, v, ci in rows if v is not None and isinstance(ci, list) for x in ci]
    top = max([*(abs(v) for _, v, _ in rows if v is not None), *reach], default=0.0) or 1.0
    span = WIDTH - LABEL_W - 70
    bars = []
    for i, (label, v, ci) in enumerate(rows):
        err = None
        if v is not None and isinstance(ci, list) and ci[0] != ci[1]:
            lo, hi = sorted(abs(float(x)) / top * span for x in ci)
            err = (lo, hi)
        width = 0.0 if v is None else max(1.0, abs(v) / top * span)
        bars.append(Bar(label, v, i * (BAR_H + GAP), width, err))
    return BarChart(aliases[0], bars, len(bars) * (BAR_H + GAP), top)


@dataclass(frozen=True)
class Gauge:
    left: float
    total: float
    fraction: float
    arc: str  # SVG path of the remaining part
    level: str  # ok, low, empty


def gauge(left: float | None, total: float | None) -> Gauge | None:
    """A half-circle gauge of the epsilon left out of the license's budget."""
    if left is None or not total:
        return None
    frac = min(1.0, max(0.0, left / total))
    r, cx, cy = 80.0, 100.0, 95.0
    angle = math.pi * (1 - frac)
    x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
    arc = f"M {cx - r:.1f} {cy:.1f} A {r:.0f} {r:.0f} 0 0 1 {x:.1f} {y:.1f}" if frac > 0 else ""
    level = "empty" if frac <= 0.001 else ("low" if frac < 0.35 else "ok")
    return Gauge(round(left, 3), round(total, 3), frac, arc, level)


@dataclass(frozen=True)
class SpendLine:
    path: str  # SVG path of the cumulative spend, a step per charge
    cap_y: float | None  # y of the cap line (None: no cap)
    first: str  # dates of the first and the last charge
    last: str
    points: int


LINE_W, LINE_H, PAD = 240.0, 70.0, 8.0


def spend_line(history: list[dict[str, Any]], before: float, cap: float | None) -> SpendLine | None:
    """The spend over time (`history`: charges `{at, epsilon}` in time order, after `before` spent earlier) as a
    step line under the cap."""
    if not history:
        return None
    times = [datetime.fromisoformat(h["at"]) for h in history]
    span = (times[-1] - times[0]).total_seconds() or 1.0
    total = before + sum(float(h["epsilon"]) for h in history)
    top = max(cap or 0.0, total) or 1.0

    def y(v: float) -> float:
        return LINE_H - PAD - v / top * (LINE_H - 2 * PAD)

    spent, steps = before, [f"M {PAD:.1f} {y(before):.1f}"]
    for t, h in zip(times, history, strict=True):
        spent += float(h["epsilon"])
        steps.append(f"H {PAD + (t - times[0]).total_seconds() / span * (LINE_W - 2 * PAD):.1f} V {y(spent):.1f}")
    steps.append(f"H {LINE_W - PAD:.1f}")
    return SpendLine(" ".join(steps), None if cap is None else y(cap), times[0].strftime("%Y-%m-%d %H:%M"),
                     times[-1].strftime("%Y-%m-%d %H:%M"), len(history))


def series_chart(title: str, points: list[tuple[str, float]]) -> BarChart | None:
    """One bar per labelled value (e.g. yuan by period), in the given order; None when there is nothing."""
    if not points:
        return None
    top = max((abs(v) for _, v in points), default=0.0) or 1.0
    span = WIDTH - LABEL_W - 70
    bars = [Bar(label, v, i * (BAR_H + GAP), max(1.0, abs(v) / top * span)) for i, (label, v) in enumerate(points)]
    return BarChart(title, bars, len(bars) * (BAR_H + GAP), top)
