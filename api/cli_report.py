"""`provex audit report` (recompute a published annual report from the verified log and chain and compare) and
`provex audit revenue` (revenue against the maximum allowed, through the API). Registered on `audit_app` by
api/cli_audit.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import typer

from api.cli_tools import API, JSON_OUT, KEY, call, client, console, dump
from api.cli_trust import AUTHORITY, build, chain_url, load_trust
from api.client import ApiError
from api.settings import get_settings

YEAR = typer.Option(..., "--year", help="the report's calendar year")


def _published_from_api(api: str | None, year: int, scope: str) -> str:
    """The latest published report of `year` and `scope`, downloaded from the exchange's public routes."""
    with client(api, None) as c:
        try:
            mine = [r for r in c.published_reports(year) if r["scope"] == scope]
            if not mine:
                console.print(f"[red]the exchange lists no published report for {scope} {year}[/red]")
                raise typer.Exit(1)
            return c.report_file(mine[0]["id"], "json")
        except (ApiError, httpx.HTTPError) as e:
            console.print(f"[red]cannot download the published report: {e}[/red]")
            raise typer.Exit(2) from None


def _ledger(rpc: str, trust: Path | None, manifest: Path, authority: str | None) -> Any:
    from ledger.client import ChainClient
    from ledger.contracts import Ledger
    from ledger.deploy import Deployment
    from ledger.trust import trust_refusal

    client_, contracts = ChainClient(rpc), build()
    if trust is not None:
        doc = load_trust(trust)
        refused = trust_refusal(doc, client_, contracts, authority)
        if refused is not None:
            console.print(f"[red]trust file refused: {refused.divergence}[/red]")
            raise typer.Exit(1)
        return Ledger(client_, doc.deployment(), contracts)
    deployment = Deployment.load(manifest)
    if deployment is None:
        console.print(f"[red]{manifest} not found[/red]")
        raise typer.Exit(2)
    return Ledger(client_, deployment, contracts)


def _from_export(folder: Path, url: str, trust: Path | None, authority: str | None, year: int, scope: str,
                 text: str) -> dict[str, Any]:
    from api.cli_trust import verify_trusted, verify_untrusted
    from ledger.verify import MANIFEST_FILE, read_export
    from registry.reports.audit import audit_export

    def tick(what: str, n: int) -> None:
        return None

    verified = (verify_trusted(folder, url, trust, authority, tick) if trust
                else verify_untrusted(folder, url, tick))
    ledger = _ledger(url, trust, folder / MANIFEST_FILE, authority)
    return audit_export(verified, read_export(folder), ledger, year, scope, text)


def _from_database(url: str, trust: Path | None, authority: str | None, year: int, scope: str,
                   text: str | None) -> dict[str, Any]:
    from sqlmodel import Session

    from registry.db import make_engine
    from registry.reports.audit import audit_database

    settings = get_settings()
    ledger = _ledger(url, trust, settings.home / "deployment.json", authority)
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        with Session(engine) as s:
            return audit_database(s, ledger, year, scope, text)
    finally:
        engine.dispose()


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        dump(result)
    elif not result["log"]["ok"]:
        d = result["log"]["divergence"] or {}
        console.print(f"[red]DIVERGENCE[/red] in the record log: {d.get('kind')} in {d.get('table')} row "
                      f"{d.get('row')}: {d.get('detail')}")
    else:
        r = result["report"]
        if r["ok"]:
            console.print(f"[green]OK[/green]: the published {r['scope']} report for {r['year']} (record "
                          f"#{r['record']}, hash {r['report_hash'][:16]}…) matches its recomputation from "
                          f"{result['log']['records']} verified records and the chain")
        for d in r["divergences"]:
            console.print(f"[red]DIVERGENCE[/red] {d['kind']}{' at ' + d['field'] if d['field'] else ''}: "
                          f"{d['detail']}")
    if not result["ok"]:
        raise typer.Exit(1)


def audit_report(
    year: int = YEAR,
    operator: str = typer.Option(None, "--operator", help="the operator's account id (default: the authority's "
                                 "disclosure)"),
    source: Path = typer.Option(None, "--from", help="an export folder (from `provex audit export`)"),
    published: Path = typer.Option(None, "--published", help="the published report's JSON as you downloaded it "
                                   "(default: the exchange's stored copy, or with --from its public download)"),
    rpc: str = typer.Option(None, "--rpc", help="chain JSON-RPC URL (default PROVEX_RPC_URL)"),
    trust: Path = typer.Option(None, "--trust", help="the authority's signed trust file (contract addresses)"),
    authority: str = AUTHORITY, api: str = API, as_json: bool = JSON_OUT,
) -> None:
    """Recompute a published annual report from the verified record log and the chain and compare; exit 1 naming
    each divergence (a changed number, a hash that differs from the report's `report.published` record).

    Examples: `provex audit report --year 2026` (the database, PROVEX_ settings),
    `provex audit report --year 2026 --operator ID --from ./audit-2027-03 --rpc URL --trust ./trust.json
    --published ./report.json`.
    """
    from registry.reports.build import AUTHORITY as AUTHORITY_SCOPE

    scope = operator or AUTHORITY_SCOPE
    url = chain_url(rpc)
    if not url:
        console.print("[red]give --rpc URL (the chain to check against)[/red]")
        raise typer.Exit(2)
    text = published.read_text(encoding="utf-8") if published else None
    with console.status("verifying the log and recomputing the report"):
        if source:
            result = _from_export(source, url, trust, authority, year, scope,
                                  text if text is not None else _published_from_api(api, year, scope))
        else:
            result = _from_database(url, trust, authority, year, scope, text)
    _print(result, as_json)


def audit_revenue(year: int = YEAR, operator: str = typer.Option(None, "--operator"), api: str = API,
                  key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """Revenue against the maximum allowed (最高准许收入), per operator: allowed, carried deduction, effective,
    revenue, excess and the records flagging it. Example: `provex audit revenue --year 2026 --key $AUTHORITY`."""
    from rich.table import Table

    rows = call(api, key, lambda c: c.revenue(year, operator))
    if as_json:
        dump(rows)
        return
    table = Table(title=f"maximum allowed revenue {year} (fen)")
    for col in ("operator", "allowed", "carried", "effective", "revenue", "excess", "flags"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["operator_id"], *(str(r[k]) if r[k] is not None else "—" for k in
                                          ("allowed_fen", "carried_fen", "effective_fen", "revenue_fen",
                                           "excess_fen")), ",".join(f"#{s}" for s in r["flags"]))
    console.print(table)
