"""Geometry for the portal's charts over time (inline SVG, drawn server-side): orders and the amount settled per
day on the exchange's page, and the anchoring lag per checkpoint on the auditor's.

Pure functions over the API's JSON; the templates only draw what these return."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 180, 56, 28, 12
BAR_MAX = 36  # the widest a bar gets (a chart of a few days or checkpoints)
MAX_DAYS = 60  # the orders chart shows the last 60 days that had orders in their span


@dataclass(frozen=True)
class Column:
    x: float
    width: float
    y: float  # top of the bar
    height: float
    label: str  # the tick under it ("" for none)
    title: str  # the hover text
    state: str = ""  # orders: the bar's order state (a stacked part)


@dataclass(frozen=True)
class TimeChart:
    columns: list[Column]
    line: str  # SVG points of the second series ("" for none)
    top: float  # the value at the chart's top (left axis)
    line_top: float  # the second series' value at the top (right axis)
    width: int = WIDTH
    height: int = HEIGHT
    plot_bottom: int = HEIGHT - BOTTOM
    left: int = LEFT


def _scale(value: float, top: float) -> float:
    return (HEIGHT - BOTTOM - TOP) * (value / top if top else 0.0)


def _nice(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at least `value` (an axis top)."""
    if value <= 0:
        return 1.0
    k = 1.0
    while k * 10 < value:
        k *= 10
    while k > value * 10:
        k /= 10
    return next(m * k for m in (1, 2, 5, 10) if m * k >= value)


def _bar(x: float, step: float) -> tuple[float, float]:
    """The left edge and width of a bar in a slot of `step` starting at `x`."""
    width = min(step * 0.7, BAR_MAX)
    return x + (step - width) / 2, width


def _day(iso: str) -> date:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).date()


ORDER_STATES = ("paid", "pending", "failed")


def orders_chart(orders: list[dict[str, Any]]) -> TimeChart | None:
    """Per day (from the first order's day to the last's, at most MAX_DAYS): bars of the orders placed, stacked by
    state, and a line of the amount paid (fen)."""
    if not orders:
        return None
    days = sorted({_day(o["created_at"]) for o in orders})
    last = days[-1]
    first = max(days[0], last - timedelta(days=MAX_DAYS - 1))
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts = Counter((_day(o["created_at"]), o["state"]) for o in orders)
    amounts = Counter()  # type: Counter[date]
    for o in orders:
        if o["state"] == "paid":
            amounts[_day(o["created_at"])] += int(o.get("amount_fen") or 0)
    top = _nice(max(sum(counts[(d, s)] for s in ORDER_STATES) for d in span))
    line_top = _nice(max((amounts[d] for d in span), default=0))
    step = (WIDTH - LEFT - 8) / len(span)
    columns, points = [], []
    for i, d in enumerate(span):
        x, below = LEFT + i * step, float(HEIGHT - BOTTOM)
        tick = d.isoformat()[5:] if i in (0, len(span) - 1) or len(span) <= 8 else ""
        for state in ORDER_STATES:
            n = counts[(d, state)]
            if n:
                h = _scale(n, top)
                below -= h
                columns.append(Column(*_bar(x, step), below, h, tick, f"{d} {state}: {n}", state))
                tick = ""
        if tick:
            columns.append(Column(*_bar(x, step), HEIGHT - BOTTOM, 0, tick, f"{d}: 0"))
        points.append(f"{x + step / 2:.1f},{HEIGHT - BOTTOM - _scale(amounts[d], line_top):.1f}")
    return TimeChart(columns, " ".join(points) if any(amounts.values()) else "", top, line_top)


def lag_chart(rows: list[dict[str, Any]]) -> TimeChart | None:
    """Per confirmed checkpoint (oldest first): a bar of the longest lag of the records it anchored, and a line of
    the median lag, in seconds."""
    rows = [r for r in rows if r.get("max_s") is not None]
    if not rows:
        return None
    top = _nice(max(float(r["max_s"]) for r in rows))
    step = (WIDTH - LEFT - 8) / len(rows)
    columns, points = [], []
    for i, r in enumerate(rows):
        x = LEFT + i * step
        h = _scale(float(r["max_s"]), top)
        tick = f"#{r['index']}" if i in (0, len(rows) - 1) or len(rows) <= 10 else ""
        columns.append(Column(*_bar(x, step), HEIGHT - BOTTOM - h, h, tick,
                              f"#{r['index']} · {r['records']} · {r['median_s']:.2f} / {r['max_s']:.2f} s"))
        points.append(f"{x + step / 2:.1f},{HEIGHT - BOTTOM - _scale(float(r['median_s']), top):.1f}")
    return TimeChart(columns, " ".join(points), top, top)
