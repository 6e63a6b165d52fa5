"""`provex products` and `provex query` (and, in api/cli_audit.py, `provex audit`): the API client from the command
line.

Every command takes `--api` (default `PROVEX_API_URL`, else the running demo's, else http://127.0.0.1:8700) and
`--key` (default `PROVEX_API_KEY`), prints tables (rich), and `--json` for scripts. Commands that act (`query`,
`audit verify` through the API) sign with your own key: `--signer NAME` (default `PROVEX_SIGNER`), a key of your
keystore (`provex keys`; passphrase from `PROVEX_KEYSTORE_PASSPHRASE` or a prompt). `audit verify` and `audit
export` read the database and the chain directly (settings); `audit verify --from DIR --rpc URL --trust FILE` needs
neither the database nor the API: an exported record log, the authority's trust file and a chain endpoint are enough
(`audit trust make|check` in api/cli_trust.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from api.cli_keys import open_key
from api.client import ApiError, ProvexClient
from api.demo.endpoint import default_api_url
from api.result_text import cell
from api.settings import get_settings

console = Console()
T = TypeVar("T")
API = typer.Option(None, "--api", help="API URL (default PROVEX_API_URL, else the running demo's, else :8700)")
KEY = typer.Option(None, "--key", help="API key (default PROVEX_API_KEY)")
JSON_OUT = typer.Option(False, "--json", help="print JSON")
SIGNER = typer.Option(None, "--signer", help="your key's name in your keystore, which signs (default PROVEX_SIGNER)")

products_app = typer.Typer(help="Find and inspect data products.", no_args_is_help=True)


def client(api: str | None, key: str | None, signer: str | None = None) -> ProvexClient:
    """The API client; with a signer name (or PROVEX_SIGNER), its requests are signed with that key of yours."""
    url = api or default_api_url(get_settings().home)
    name = signer or os.environ.get("PROVEX_SIGNER")
    return ProvexClient(url, key or os.environ.get("PROVEX_API_KEY"), signer=open_key(name) if name else None)


def call(api: str | None, key: str | None, act: Callable[[ProvexClient], T], signer: str | None = None) -> T:
    """`act(client)`'s answer; an API refusal is one red line and exit 1 (every command's one way to call)."""
    with client(api, key, signer) as c:
        try:
            return act(c)
        except ApiError as e:
            raise fail(e) from None


def fail(e: ApiError) -> typer.Exit:
    console.print(f"[red]{e.status} {e.code}[/red]: {e.detail}")
    return typer.Exit(1)


def dump(data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False))


# ------------------------------------------------------------------------------------ products

@products_app.command("list")
def products_list(q: str = typer.Option(None, "--q", help="keywords"), sector: str = typer.Option(None, "--sector"),
                  status: str = typer.Option(None, "--status"), api: str = API, key: str = KEY,
                  as_json: bool = JSON_OUT) -> None:
    """List catalog products (follows pages). Example: `provex products list --q 耳标 --key $BUYER`."""
    items = call(api, key, lambda c: list(c.catalog_all(q=q, sector=sector, status=status)))
    if as_json:
        dump(items)
        return
    table = Table(title=f"{len(items)} products")
    for col in ("code", "title", "status", "class", "from", "providers"):
        table.add_column(col, overflow="fold")
    for p in items:
        price = f"¥{p['price_from_fen'] / 100:,.2f}" if p["price_from_fen"] is not None else "—"
        table.add_row(p["code"], p["title"], p["status"], p["classification"], price, str(len(p["provider_ids"])))
    console.print(table)


@products_app.command("show")
def products_show(ref: str, api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """One product with its offers. Example: `provex products show PX-2026-000001 --key $BUYER`."""
    product, offers = call(api, key, lambda c: (c.product(ref), c.offers(ref)))
    if as_json:
        dump({"product": product, "offers": offers})
        return
    table = Table(title=f"{product['code']} {product['title']}", show_header=False)
    for k in ("status", "publisher", "classification", "sector", "scale", "authorization_basis", "metadata_hash"):
        table.add_row(k, str(product[k]))
    table.add_row("columns", ", ".join(c["name"] for c in product["columns"]))
    for o in offers:
        tiers = ", ".join(f"≥{t['min_quantity']}: ¥{t['unit_price_fen'] / 100:,.2f}" for t in o["tiers"])
        table.add_row(f"offer {o['id'][:8]}", f"{o['kind']} ({o['basis']}) {tiers}")
    console.print(table)


POLICY_FIELDS = ("noise", "threshold", "min_group_size", "default_epsilon", "default_delta", "max_rows_per_id",
                 "max_groups_per_id", "ids_partitioned")


@products_app.command("policy")
def products_policy(ref: str,
                    rows_per_id: int = typer.Option(None, "--max-rows-per-id", help="R: rows per privacy ID a group"),
                    groups_per_id: int = typer.Option(None, "--max-groups-per-id", help="G: groups per privacy ID"),
                    min_group: int = typer.Option(None, "--min-group-size", help="smaller cells are suppressed"),
                    partitioned: bool = typer.Option(None, "--ids-partitioned/--ids-shared",
                                                     help="each privacy ID at one provider (disjoint prefixes)"),
                    api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """A product's query policy and privacy unit; with options, the operator changes them (signed). Example:
    `provex products policy PX-2026-000003 --max-rows-per-id 5 --key $OPERATOR --signer operator`."""
    changes = {k: v for k, v in (("max_rows_per_id", rows_per_id), ("max_groups_per_id", groups_per_id),
                                 ("min_group_size", min_group), ("ids_partitioned", partitioned)) if v is not None}

    def act(c: ProvexClient) -> Any:
        current = c.query_policy(ref)
        if not changes:
            return current
        return c.set_query_policy(ref, {**{k: current[k] for k in POLICY_FIELDS}, **changes})

    policy = call(api, key, act, signer)
    if as_json:
        dump(policy)
        return
    table = Table(title=f"query policy of {ref}", show_header=False)
    for k in (*POLICY_FIELDS, "providers"):
        table.add_row(k, str(policy[k]))
    unit = policy.get("privacy_unit")
    table.add_row("privacy unit", f"{unit['column']} (R {policy['max_rows_per_id']}, G {policy['max_groups_per_id']})"
                  if unit else "a row (no privacy-ID column)")
    console.print(table)


# ------------------------------------------------------------------------------------ query

def query(sql: str = typer.Argument(..., help="SELECT agg[, ...] FROM data [WHERE ...] [GROUP BY ...]"),
          license_id: str = typer.Option(None, "--license", help="license id (default: your first license)"),
          epsilon: float = typer.Option(None, "--epsilon", help="privacy cost of this query"),
          preview: bool = typer.Option(False, "--preview", help="print its cost, what it leaves and its expected "
                                       "error; run nothing, spend nothing"),
          api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT) -> None:
    """Run a federated aggregate query under a license and print the result (or, with --preview, its price).

    Example: `provex query "SELECT COUNT(*), AVG(weight_kg) FROM data GROUP BY species" --epsilon 0.1 --key $BUYER`.
    """
    with client(api, key, signer) as c:
        try:
            lic = license_id or next((x["id"] for x in c.licenses()), None)
            if lic is None:
                console.print("[red]no license: buy one first (POST /orders)[/red]")
                raise typer.Exit(1)
            item = {"sql": sql, **({"epsilon": epsilon} if epsilon is not None else {})}
            out = c.preview_queries(lic, [item]) if preview else c.query(lic, sql, epsilon=epsilon)
        except ApiError as e:
            raise fail(e) from None
    if as_json:
        dump(out)
    elif preview:
        _print_preview(out)
    else:
        _print_result(out)


def _print_preview(out: dict[str, Any]) -> None:
    q = out["queries"][0]
    left, mine, everyone = out["budget_left"], out["product_budget_left"], out["product_total_left"]
    if q["refused"]:
        console.print(f"[red]the license would refuse it: {q['refused']['detail']}[/red]")
    total = "no cap" if everyone["epsilon"] is None else f"{everyone['epsilon']:.4g}"
    console.print(f"cost: ε {q['epsilon']:.4g}, δ {q['delta']:.3g}, ¥{q['price_fen'] / 100:,.2f}", soft_wrap=True)
    console.print(f"afterwards: ε {left['epsilon']:.4g} and {left['queries']} queries left on the license; "
                  f"ε {mine['epsilon']:.4g} yours on the product; ε {total} for all buyers", soft_wrap=True)
    if out.get("budget_window"):
        console.print(f"the license's {out['budget_window']} window refreshes "
                      f"{out['window_refreshes_at'][:16].replace('T', ' ')} UTC", soft_wrap=True)
    console.print("nothing spent, nothing run", soft_wrap=True)
    table = Table(title="expected error of each released total")
    for name in ("total", "column", "± 95 %"):
        table.add_column(name)
    for e in q["expected_error"]:
        stat = f"{e['stat']}[{e['bins']} bins]" if e["bins"] else e["stat"]
        table.add_row(stat, e["column"] or "*", f"{e['ci95_half_width']:.4g}")
    console.print(table)


def _print_result(out: dict[str, Any]) -> None:
    groups = out["groups"]
    table = Table(title=f"query {out['query_id'][:8]} · ε spent {out['epsilon_spent']:.3f} · "
                        f"ε left {out['budget_left']['epsilon']} · record #{out['receipt'].get('seq')}")
    keys = list(groups[0]["group"]) if groups else []
    aliases = list(groups[0]["values"]) if groups else []
    for col in [*keys, *aliases]:
        table.add_column(col, justify="right" if col in aliases else "left")
    for g in groups:
        vals = ["suppressed" if g["suppressed"] else cell(v, g.get("ci95", {}).get(a)) for a, v in g["values"].items()]
        table.add_row(*[str(g["group"][k]) for k in keys], *vals)
    console.print(table)
    if out["noised"]:
        console.print("± is half the 95 % interval from the noise calibration (se in --json); — is a cell "
                      "hidden as covering too few rows")
    console.print(f"providers: {out['providers']} took part, {out['providers_dropped']} did not  "
                  f"plan {out['plan_hash'][:16]}…")


# ------------------------------------------------------------------------------------ audit

def register(app: typer.Typer) -> None:
    """Add these commands to the `provex` app."""
    app.add_typer(products_app, name="products")
    app.command("query")(query)
