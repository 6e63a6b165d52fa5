"""`provex products costs declare|list|ledger|evidence`: a product's declared costs, its cost and revenue ledger,
and the accountant's evidence export (数据资产入表; docs/data-assets.md). Added to `provex products` by
api/cli.py."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from api.cli_tools import API, JSON_OUT, KEY, SIGNER, call, console, dump
from registry.assets.categories import CATEGORIES

costs_app = typer.Typer(help="Data-asset evidence: declared costs, the cost and revenue ledger, the accountant's "
                             "export.", no_args_is_help=True)


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


@costs_app.command("declare")
def declare(ref: str, on: str = typer.Option(..., "--on", help="the day incurred, YYYY-MM-DD"),
            category: str = typer.Option(..., "--category", help=", ".join(CATEGORIES)),
            amount_fen: int = typer.Option(..., "--amount-fen", help="integer fen (0.01 CNY)"),
            description: str = typer.Option(..., "--description"),
            evidence_hash: str = typer.Option(None, "--evidence-hash", help="SHA-256 of the invoice you keep"),
            corrects: str = typer.Option(None, "--corrects", help="the id of the entry this one corrects"),
            api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Declare a cost of your product (or correct an entry: --corrects ID; --amount-fen 0 withdraws it).

    Example: `provex products costs declare PX-2026-000001 --on 2026-05-31 --category storage --amount-fen 120000
    --description "object storage, May" --key $OPERATOR --signer operator`.
    """
    row = call(api, key, lambda c: c.declare_cost(ref, on, category, amount_fen, description, evidence_hash,
                                                  corrects), signer=signer)
    if as_json:
        dump(row)
        return
    console.print(f"cost {row['id']} declared: {row['category']} {_yuan(row['amount_fen'])} on "
                  f"{row['incurred_on']}, record #{row['record_seq']}")


@costs_app.command("list")
def costs_list(ref: str, api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """The product's cost entries with their corrections. Example: `provex products costs list PX-2026-000001`."""
    rows = call(api, key, lambda c: c.costs(ref))
    if as_json:
        dump(rows)
        return
    table = Table(title=f"{len(rows)} cost entries")
    for col in ("id", "date", "category", "amount", "description", "corrects", "corrected by", "record"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["id"][:8], r["incurred_on"], r["category"], _yuan(r["amount_fen"]), r["description"],
                      (r["corrects_id"] or "")[:8], (r["corrected_by"] or "")[:8], f"#{r['record_seq']}")
    console.print(table)


@costs_app.command("ledger")
def ledger(ref: str, year: int = typer.Option(None, "--year"), api: str = API, key: str = KEY,
           as_json: bool = JSON_OUT) -> None:
    """Costs by category and revenue per month, cumulative. Example: `provex products costs ledger REF --year 2026`."""
    book = call(api, key, lambda c: c.asset_ledger(ref, year))
    if as_json:
        dump(book)
        return
    table = Table(title=f"{book['product_code']} {book['title']}: cost and revenue ledger")
    for col in ("month", "costs", "revenue", "refunds", "net revenue", "public welfare (forgone)", "cumulative costs",
                "cumulative net revenue"):
        table.add_column(col, justify="right")
    for p in [*book["periods"], {**book["totals"], "period": "total"}]:
        table.add_row(p["period"], _yuan(p["costs_fen"]), _yuan(p["revenue_fen"]), _yuan(p["refunds_fen"]),
                      _yuan(p["net_revenue_fen"]), f"{p['public_welfare_licenses']} ({_yuan(p['forgone_fen'])})",
                      _yuan(p["cumulative_costs_fen"]), _yuan(p["cumulative_net_revenue_fen"]))
    console.print(table)


@costs_app.command("evidence")
def evidence(ref: str, year: int = typer.Option(..., "--year"),
             out: Path = typer.Option(None, "--out", help="default asset-evidence-REF-YEAR.zip"),
             api: str = API, key: str = KEY) -> None:
    """Download the accountant's evidence export (ZIP; README.txt inside says how to verify it).

    Example: `provex products costs evidence PX-2026-000001 --year 2026 --key $OPERATOR`.
    """
    data = call(api, key, lambda c: c.asset_evidence_zip(ref, year))
    target = out or Path(f"asset-evidence-{ref}-{year}.zip")
    target.write_bytes(data)
    console.print(f"{target} ({len(data):,} bytes)")
