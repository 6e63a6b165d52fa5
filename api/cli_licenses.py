"""`provex licenses` and `provex license ID`: your licenses, each with its budget window (day, week, month, UTC),
what is spent and left in the current window and when it refreshes."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from api.cli_tools import API, JSON_OUT, KEY, call, console, dump


def window_text(lic: dict[str, Any]) -> str:
    """`month: refreshes 2027-01-01 00:00 UTC`, or `never refreshes`."""
    if not lic["budget_window"]:
        return "never refreshes"
    return f"{lic['budget_window']}: refreshes {lic['window_refreshes_at'][:16].replace('T', ' ')} UTC"


def licenses(api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """Your licenses with what is left in their current budget window. Example: `provex licenses --key $BUYER`."""
    rows = call(api, key, lambda c: c.licenses())
    if as_json:
        dump(rows)
        return
    table = Table(title=f"{len(rows)} licenses")
    for name in ("license", "product", "kind", "ε left", "queries left", "window"):
        table.add_column(name, overflow="fold")
    for x in rows:
        table.add_row(x["id"][:8], x["product_id"][:8], x["kind"],
                      f"{x['epsilon_left']:.4g} / {x['epsilon_budget']:.4g}",
                      f"{x['queries_left']} / {x['max_queries']}", window_text(x))
    console.print(table)


def license_show(license_id: str = typer.Argument(..., help="license id"), api: str = API, key: str = KEY,
                 as_json: bool = JSON_OUT) -> None:
    """One license: terms, its budget window, this window's spend and what is left, when it refreshes."""
    x = call(api, key, lambda c: c.license(license_id))
    if as_json:
        dump(x)
        return
    table = Table(title=f"license {x['id']}", show_header=False)
    for name, value in (
            ("product", x["product_id"]), ("kind", x["kind"]), ("status", x["status"]),
            ("budget window", window_text(x)),
            ("ε spent / left",
             f"{x['window_epsilon_spent']:.4g} / {x['epsilon_left']:.4g} of {x['epsilon_budget']:.4g}"),
            ("δ spent / left", f"{x['window_delta_spent']:.3g} / {x['delta_left']:.3g} of {x['delta_budget']:.3g}"),
            ("queries used / left", f"{x['window_queries_used']} / {x['queries_left']} of {x['max_queries']}"),
            ("valid", f"{x['valid_from'][:10]} – {x['valid_until'][:10]}"), ("terms hash", x["terms_hash"])):
        table.add_row(name, value)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("licenses")(licenses)
    app.command("license")(license_show)
