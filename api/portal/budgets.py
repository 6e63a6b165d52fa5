"""The budget figures the portal shows, each as a gauge with its spend over time: a license's (in its current
budget window), a buyer's own on a product across its licenses, and the product-wide one (all buyers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.client import Json, ProvexClient
from api.portal import charts


@dataclass(frozen=True)
class BudgetFigure:
    key: str  # which budget: license, mine, product_total (message `budget_<key>`, test id `budget-<key>`)
    spent: float
    cap: float | None
    gauge: charts.Gauge | None
    line: charts.SpendLine | None
    window: str | None = None  # day, week, month: the budget refreshes; None: it never does
    refreshes_at: str | None = None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and datetime.fromisoformat(a) == datetime.fromisoformat(b)


def license_figure(client: ProvexClient, lic: Json) -> BudgetFigure:
    """The license's ε in its current window (the whole license without one), with the window's charges."""
    charges = [c for c in client.charges(lic["id"]) if not c["refunded"]]
    if lic["budget_window"]:
        charges = [c for c in charges if _same(c["window_start"], lic["window_start"])]
    history = [{"at": c["created_at"], "epsilon": c["epsilon"]} for c in charges]
    cap = float(lic["epsilon_budget"])
    return BudgetFigure("license", cap - float(lic["epsilon_left"]), cap, charts.gauge(lic["epsilon_left"], cap),
                        charts.spend_line(history, 0.0, cap), lic["budget_window"],
                        (lic["window_refreshes_at"] or "")[:16].replace("T", " ") or None)


def track_figure(key: str, track: dict[str, Any]) -> BudgetFigure:
    """A lifetime budget (`BudgetTrack` of `GET /products/{ref}/budget-usage`)."""
    cap = track["epsilon_cap"]
    return BudgetFigure(key, float(track["epsilon_spent"]), cap, charts.gauge(track["epsilon_left"], cap),
                        charts.spend_line(track["history"], float(track["epsilon_before"]), cap))


def product_figures(client: ProvexClient, product_id: str) -> list[BudgetFigure]:
    """The signed-in buyer's own budget on the product (for a buyer) and the product-wide one."""
    usage = client.budget_usage(product_id)
    mine = [track_figure("mine", usage["mine"])] if usage["mine"] else []
    return [*mine, track_figure("product_total", usage["product_total"])]
