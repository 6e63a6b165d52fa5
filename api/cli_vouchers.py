"""`provex vouchers`: voucher programmes (算力券/数据券) and their vouchers from the command line.

The authority's acts (`programme-create`, `issue`) are signed with its own key (`--signer`, see api/cli_tools.py);
reading takes only an API key. Examples:

    provex vouchers programme-create --name "Hohhot 2026" --budget-fen 5000000000 --max-share-bps 3000 \\
        --days 365 --sector agriculture --holder BUYER_ID --key $AUTHORITY --signer authority
    provex vouchers issue --programme PROGRAMME_ID --holder BUYER_ID --amount-fen 150000 --days 180 ...
    provex vouchers programmes --key $AUTHORITY
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.table import Table

from api.cli_tools import API, JSON_OUT, KEY, SIGNER, call, console, dump

vouchers_app = typer.Typer(help="Voucher programmes (算力券/数据券) and vouchers.", no_args_is_help=True)


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def _show(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        dump(rows)
        return
    table = Table(title=f"{len(rows)} voucher programmes")
    for col in ("id", "name", "budget/year", "issued", "remaining", "redeemed", "share cap", "window", "chain"):
        table.add_column(col, overflow="fold")
    for g in rows:
        table.add_row(g["id"][:8], g["name"], _yuan(g["annual_budget_fen"]), _yuan(g["issued_fen"]),
                      _yuan(g["remaining_fen"]), _yuan(g["redeemed_fen"]), f"{g['max_share_bps'] / 100:.2f}%",
                      f"{g['starts_at'][:10]} – {g['ends_at'][:10]}", g["chain"]["state"])
    console.print(table)


@vouchers_app.command("programme-create")
def programme_create(
    name: str = typer.Option(..., "--name"),
    budget_fen: int = typer.Option(..., "--budget-fen", help="annual budget in fen (¥50 million: 5000000000)"),
    max_share_bps: int = typer.Option(..., "--max-share-bps", help="the most of a price a voucher pays (bps)"),
    days: int = typer.Option(365, "--days", help="spending window: from now, this many days"),
    sector: list[str] = typer.Option([], "--sector", help="an eligible sector (repeat; none: any)"),
    product: list[str] = typer.Option([], "--product", help="an eligible product id (repeat; none: any)"),
    holder: list[str] = typer.Option(..., "--holder", help="an allow-listed buyer account id (repeat)"),
    api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT,
) -> None:
    """Create a voucher programme on chain (authority, signed with your own key)."""
    start = datetime.now(UTC)
    body = {"name": name, "annual_budget_fen": budget_fen, "max_share_bps": max_share_bps,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=days)).isoformat(),
            "sectors": sector, "product_ids": product, "holder_ids": holder}
    out = call(api, key, lambda c: c.create_voucher_programme(body), signer=signer)
    _show([out], as_json)


@vouchers_app.command("programmes")
def programmes(api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """Voucher programmes with their use this budget year."""
    rows = call(api, key, lambda c: c.voucher_programmes())
    _show(rows, as_json)


@vouchers_app.command("programme")
def programme(programme_id: str, api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """One programme: its budget and use, and its vouchers."""
    out = call(api, key, lambda c: c.voucher_programme(programme_id))
    if as_json:
        dump(out)
        return
    _show([out], False)
    table = Table(title=f"{len(out['vouchers'])} vouchers")
    for col in ("id", "holder", "amount", "remaining", "expires"):
        table.add_column(col)
    for v in out["vouchers"]:
        table.add_row(v["id"][:8], v["holder_id"][:8], _yuan(v["amount_fen"]), _yuan(v["remaining_fen"]),
                      v["expires_at"][:10])
    console.print(table)


@vouchers_app.command("reclaim")
def reclaim(voucher_id: str, api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Take back the unspent part of an expired voucher (authority, signed with your own key)."""
    out = call(api, key, lambda c: c.reclaim_voucher(voucher_id), signer=signer)
    if as_json:
        dump(out)
        return
    console.print(f"voucher {out['id']}: {_yuan(out['reclaimed_fen'])} reclaimed")


@vouchers_app.command("issue")
def issue(
    programme_id: str = typer.Option(..., "--programme"),
    holder: str = typer.Option(..., "--holder", help="the buyer account id (on the programme's allow-list)"),
    amount_fen: int = typer.Option(..., "--amount-fen"),
    days: int = typer.Option(180, "--days", help="valid for this many days"),
    api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT,
) -> None:
    """Issue a voucher under a programme, funded from your balance (authority, signed with your own key)."""
    body = {"programme_id": programme_id, "holder_id": holder, "amount_fen": amount_fen,
            "expires_at": (datetime.now(UTC) + timedelta(days=days)).isoformat()}
    out = call(api, key, lambda c: c.issue_voucher(body), signer=signer)
    if as_json:
        dump(out)
        return
    console.print(f"voucher {out['id']} {_yuan(out['amount_fen'])} to {out['holder_id']}, "
                  f"chain {out['chain']['state']}")
