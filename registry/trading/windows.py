"""Budget windows: an offer may let a license's privacy budget (ε, δ, ρ) and its query count refresh every
calendar day, ISO week (from Monday) or month, in UTC. A window is named by its start (an aware UTC datetime);
the license keeps its lifetime counters and, beside them, what they stood at when its current window began, so
"spent in this window" is one subtraction inside the same conditional UPDATE that spends (see `licenses`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from registry.trading.models import License, OfferKind

BudgetWindow = Literal["day", "week", "month"]
WINDOWS: tuple[str, ...] = ("day", "week", "month")


def utc_now() -> datetime:
    """The one clock of budget windows and license validity: UTC wall time (tests pass their own `at`)."""
    return datetime.now(UTC)


def aware(t: datetime) -> datetime:
    """`t` in UTC; a naive time is taken as UTC (as older rows read back)."""
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def window_start(window: str, t: datetime) -> datetime:
    """The start of the `window` period that contains `t` (UTC)."""
    day = aware(t).replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "day":
        return day
    if window == "week":
        return day - timedelta(days=day.weekday())
    if window == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown budget window {window!r}")


def window_end(window: str, start: datetime) -> datetime:
    """When the window beginning at `start` ends and the next one starts fresh."""
    if window == "day":
        return start + timedelta(days=1)
    if window == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class WindowUse:
    """What a license has spent in its current budget window (the whole license when it has no window)."""

    start: datetime | None
    queries: int
    eps: int
    delta: int
    rho: int


def window_use(lic: License, at: datetime | None = None) -> WindowUse:
    """The license's spend in the window containing `at` (nothing yet when that window has not been drawn from)."""
    if lic.budget_window is None:
        return WindowUse(None, lic.queries_used, lic.eps_spent, lic.delta_spent, lic.rho_spent)
    cur = window_start(lic.budget_window, at or utc_now())
    if lic.window_start is None or aware(lic.window_start) < cur:
        return WindowUse(cur, 0 if lic.kind != OfferKind.METERED else lic.queries_used, 0, 0, 0)
    return WindowUse(cur, lic.queries_used - lic.win_queries, lic.eps_spent - lic.win_eps,
                     lic.delta_spent - lic.win_delta, lic.rho_spent - lic.win_rho)
