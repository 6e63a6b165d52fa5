"""`provex model`: model products from the command line.

The operator fits its model product's model (`fit`, signed with its own key, spending ε from the product-wide
budget); a buyer holding a license on it reads the fitted model (`show`). Examples:

    provex model fit PX-000012 --epsilon 1.0 --key $OPERATOR --signer operator
    provex model show LICENSE_ID --key $BUYER
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from api.cli_tools import API, JSON_OUT, KEY, SIGNER, call, console, dump
from api.result_text import fit_rows

model_app = typer.Typer(help="Model products: fit (operator) and show (licensed buyer).", no_args_is_help=True)


def print_model(m: dict[str, Any]) -> None:
    """The coefficients table (± half the 95 % interval; se includes sampling error and the noise) and the fit."""
    table = Table(title=f"{m['kind']} model of {m['target']} · n {m['n']} · R² {m['r2']:.3f}")
    for col in ("term", "coefficient ± 95 %", "se", "se (noise)"):
        table.add_column(col, justify="left" if col == "term" else "right")
    for (term, coef, noise), se in zip(fit_rows(m, m["ci95"]), m["se"], strict=True):
        table.add_row(term, coef, f"{se:.3g}", noise)
    console.print(table)
    console.print(f"ε {m['epsilon']:.4g}, δ {m['delta']:.3g} · fitted {m['fitted_at'][:19]} · record "
                  f"#{m['receipt']['seq']} · model {m['model_hash'][:16]}…", soft_wrap=True)


@model_app.command("fit")
def fit(ref: str = typer.Argument(..., help="the model product (code or id)"),
        epsilon: float = typer.Option(..., "--epsilon", help="privacy cost, from the product-wide budget"),
        delta: float = typer.Option(1e-6, "--delta"),
        api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Fit the product's model over its providers' nodes (its operator)."""
    m = call(api, key, lambda c: c.fit_model(ref, epsilon, delta), signer)
    dump(m) if as_json else print_model(m)


@model_app.command("show")
def show(license_id: str = typer.Argument(..., help="your license on the model product"),
         api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """The fitted model your license delivers (its buyer)."""
    m = call(api, key, lambda c: c.license_model(license_id))
    dump(m) if as_json else print_model(m)
