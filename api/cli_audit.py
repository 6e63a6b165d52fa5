"""`provex audit`: trace provenance, read a record's receipt, verify the log against the chain (through the API,
from the database, or from an export held to the authority's trust file), export the record log. Options and the
API client are shared with api/cli_tools.py."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli_report import audit_report, audit_revenue
from api.cli_tools import API, JSON_OUT, KEY, SIGNER, call, client, console, dump, fail
from api.cli_trust import AUTHORITY, chain_url, trust_app, verify_trusted, verify_untrusted
from api.client import ApiError
from api.settings import get_settings

audit_app = typer.Typer(help="Trace provenance, verify the database against the chain, export the record log.",
                        no_args_is_help=True)
audit_app.add_typer(trust_app, name="trust")


@audit_app.command("trace")
def audit_trace(ref: str, api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """A product's provenance as a timeline, each step with its transaction or ledger record.

    Example: `provex audit trace PX-2026-000001 --key $AUDITOR`.
    """
    trace = call(api, key, lambda c: c.trace(ref))
    if as_json:
        dump(trace)
        return
    p = trace["product"]
    table = Table(title=f"{p['code']} {p['title']} ({p['status']}, v{p['version']})")
    for col in ("when", "stage", "event", "who", "evidence"):
        table.add_column(col, overflow="fold")
    for s in trace["steps"]:
        link = s["link"]
        evidence = (f"tx {link['tx_hash'][:18]}… block {link['block_number']}" if link.get("tx_hash")
                    else f"record #{link.get('record_seq')}")
        who = (s["actor"] or {}).get("name") or (s["actor"] or {}).get("address") or ""
        table.add_row(s["at"][:19].replace("T", " "), s["stage"], s["kind"], who, evidence)
    console.print(table)


@audit_app.command("record")
def audit_record(seq: int, api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """A ledger record's receipt: the record, the promise made when it was written (issued, deadline, kept,
    pending or broken) and the checkpoint anchoring it.

    Example: `provex audit record 42 --key $AUDITOR`.
    """
    r = call(api, key, lambda c: c.record(seq))
    if as_json:
        dump(r)
        return
    rec, cp, p = r["record"], r["checkpoint"], r.get("promise")
    console.print(f"record #{seq} {rec['kind']} by {rec['actor']} at {rec['at']}  leaf {r['leaf_hash'][:16]}…")
    console.print(f"anchored by checkpoint #{cp['index']} (tree size {cp['tree_size']}, block {cp['block_number']})"
                  if cp else "not anchored yet")
    if p is None:
        console.print("no promise (written before promises)")
        return
    style = {"kept": "green", "pending": "yellow", "broken": "red"}.get(p["status"] or "", "dim")
    console.print(f"promise: [{style}]{p['status'] or 'not judged (chain unavailable)'}[/{style}], issued "
                  f"{_utc(p['issued_at'])}, anchor by {_utc(p['deadline'])} ({p['max_delay_s']} s), signed by the "
                  f"recorder {p['signer']}")


@audit_app.command("public-welfare")
def audit_public_welfare(api: str = API, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """The free public-welfare licenses (公共治理、公益事业): who took which product, for what declared purpose,
    and the list price forgone; then the accounts the authority has named for that use.

    Example: `provex audit public-welfare --key $AUTHORITY`.
    """
    licenses, users = call(api, key, lambda c: (c.licenses(use="public_welfare"), c.public_welfare_users()))
    if as_json:
        dump({"licenses": licenses, "users": users})
        return
    table = Table(title=f"{len(licenses)} public-welfare licenses")
    for col in ("license", "buyer", "product", "purpose", "quantity", "list price forgone", "paid"):
        table.add_column(col, overflow="fold")
    for x in licenses:
        table.add_row(x["id"][:8], x["buyer_id"][:8], x["product_id"][:8], x["terms"].get("purpose", ""),
                      str(x["quantity"]), f"¥{x['unit_price_fen'] * x['quantity'] / 100:,.2f}",
                      f"¥{x['amount_fen'] / 100:,.2f}")
    console.print(table)
    named = Table(title=f"{len(users)} accounts named for public-welfare use")
    for col in ("account", "address", "eligible", "reason", "chain"):
        named.add_column(col, overflow="fold")
    for u in users:
        named.add_row(u["account_id"][:8], u["address"], "yes" if u["eligible"] else "no", u["reason"],
                      u["chain"]["state"])
    console.print(named)


def _utc(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _report(report: dict[str, Any], as_json: bool) -> None:
    if not as_json:
        for note in report.get("notes", []):
            style = "yellow" if note.startswith("UNAUTHENTICATED") else "dim"
            console.print(f"[{style}]{note}[/{style}]")
    if as_json:
        dump(report)
    elif report["ok"]:
        console.print(f"[green]OK[/green]: {report['records']} records ({report['anchored']} anchored) match "
                      f"{report['checkpoints']} checkpoints on chain")
    else:
        d = report["divergence"]
        console.print(f"[red]DIVERGENCE[/red] {d['kind']} in {d['table']} row {d['row']} "
                      f"{d.get('field') or ''}{_named_by(d)}: {d['detail']}")
        for more in report.get("also", []):
            console.print(f"[red]also[/red] {more['kind']} in {more['table']} {more.get('field') or ''}"
                          f"{_named_by(more)}: {more['detail']}")
    if not as_json and report.get("promises"):
        p = report["promises"]
        console.print(f"promises made at write time: {p['kept']} kept, {p['pending']} pending, "
                      f"{p['broken']} broken")
    if not report["ok"]:
        raise typer.Exit(1)


def _named_by(d: dict[str, Any]) -> str:
    """The record and transaction that say what the row must hold, when a divergence names them."""
    return "".join(f" ({k} {d[k]})" for k in ("record", "tx") if d.get(k) is not None)


@audit_app.command("verify")
def audit_verify(
    source: Path = typer.Option(None, "--from", help="an export folder (from `provex audit export`)"),
    rpc: str = typer.Option(None, "--rpc", help="chain JSON-RPC URL (default PROVEX_RPC_URL, else the running "
                            "chain's)"),
    trust: Path = typer.Option(None, "--trust", help="the authority's signed trust file: contract addresses "
                               "come only from it (an export's or the exchange's own deployment.json is a hint)"),
    authority: str = AUTHORITY,
    witness: list[str] = typer.Option(None, "--witness", help="a witness address you expect to cosign every "
                                      "checkpoint (repeatable); each checkpoint it lacks is noted"),
    require_witness: bool = typer.Option(False, "--require-witness", help="a checkpoint an expected --witness "
                                         "did not cosign is a divergence (exit 1), not a note"),
    promises: Path = typer.Option(None, "--promises", help="promises you collected from the exchange's "
                                  "responses (JSON list or lines): each must be kept by the log"),
    api: str = API, key: str = KEY, signer: str = SIGNER, as_json: bool = JSON_OUT,
) -> None:
    """Recompute the record log and compare with the checkpoints on chain; exit 1 on the first divergence.

    With `--key` (an auditor's) it asks the API (`POST /audit/verify`), which also compares the chain-enforced
    rows. Otherwise it reads the database (PROVEX_ settings) and the chain at `--rpc` (with `--trust FILE`, at the
    contracts the authority's trust file names, not the exchange's deployment.json). With `--from DIR --rpc
    URL --trust FILE` it needs only an export, the chain and the authority's trust file, which alone names
    the contracts (without `--trust` the export's own deployment.json does, unauthenticated). Every mode lists the
    witnesses that cosigned each checkpoint (`provex witness`), read from the CheckpointLog's events. Examples:
    `provex audit verify --key $AUDITOR`,
    `provex audit verify --from ./audit-2025-06 --rpc http://127.0.0.1:8545 --trust ./trust.json`.
    Every promise made at write time (stored, exported, or in `--promises FILE`) must be kept: its record in the
    log and anchored by its deadline, else `promise_broken` names the record.
    """
    from ledger.promises import PromiseError

    witnesses = _addresses(witness or [])
    collected = _collected(promises)
    if (key or os.environ.get("PROVEX_API_KEY")) and not (source or promises or trust):
        with client(api, key, signer) as c, console.status("verifying (POST /audit/verify)"):
            try:
                report = c.verify(witnesses, require_witness)
            except ApiError as e:
                raise fail(e) from None
        _report(report, as_json)
        return
    url = chain_url(rpc)
    if not url:
        console.print("[red]give --rpc URL (the chain to check against), or --key to ask the API[/red]")
        raise typer.Exit(2)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} rows"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("verifying", total=None)

        def tick(what: str, n: int) -> None:
            progress.update(task, description=f"verifying {what}", completed=n)

        try:
            if source and trust:
                report = verify_trusted(source, url, trust, authority, tick, witnesses, require_witness, collected)
            elif source:
                report = verify_untrusted(source, url, tick, witnesses, require_witness, collected)
            else:
                report = _verify_database(url, tick, witnesses, require_witness, collected, trust, authority)
        except PromiseError as exc:  # an export's promises.jsonl that is not promises
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    _report(report, as_json)


def _addresses(given: list[str]) -> list[str]:
    """`--witness` values as checksummed addresses; exits 2 naming one that is not an address."""
    from eth_utils import is_address, to_checksum_address

    bad = [a for a in given if not is_address(a)]
    if bad:
        console.print(f"[red]--witness {bad[0]!r} is not an address[/red]")
        raise typer.Exit(2)
    return [to_checksum_address(a) for a in given]


def _collected(path: Path | None) -> list[Any]:
    """The promises in `--promises FILE` (exit 2 naming the bad entry)."""
    from ledger.promises import PromiseError, read_promises

    if path is None:
        return []
    try:
        return read_promises(path.read_text(encoding="utf-8"), str(path))
    except (OSError, PromiseError) as exc:
        console.print(f"[red]--promises: {exc}[/red]")
        raise typer.Exit(2) from None


def _ledger(rpc: str, manifest_path: Path) -> Any:
    """Contract wrappers at `rpc` for the deployment in `manifest_path` (no key needed: reads only)."""
    from api.cli_trust import build
    from ledger.client import ChainClient
    from ledger.contracts import Ledger
    from ledger.deploy import Deployment

    manifest = Deployment.load(manifest_path)
    if manifest is None:
        console.print(f"[red]{manifest_path} not found[/red]")
        raise typer.Exit(2)
    return Ledger(ChainClient(rpc), manifest, build())


def _verify_database(rpc: str, tick: Any, witnesses: list[str], require_witness: bool,
                     collected: list[Any], trust: Path | None, authority: str | None) -> dict[str, Any]:
    """The database (PROVEX_ settings) against the chain: the contracts the exchange's deployment.json names, or
    with `trust` only those the authority's trust file names (the exchange's manifest is then a hint)."""
    from sqlmodel import Session

    from registry.db import make_engine
    from registry.verification import verify_with_witnesses

    settings = get_settings()
    manifest = settings.home / "deployment.json"
    if trust is None:
        ledger = _ledger(rpc, manifest)
    else:
        from api.cli_trust import build, load_trust
        from ledger.client import ChainClient
        from ledger.contracts import Ledger
        from ledger.trust import hold_to_trust, trust_refusal

        doc, client, contracts = load_trust(trust), ChainClient(rpc), build()
        refused = trust_refusal(doc, client, contracts, authority)
        if refused is not None:
            return refused.as_dict()
        ledger = Ledger(client, doc.deployment(), contracts)
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        with Session(engine) as s:
            report = verify_with_witnesses(s, ledger, witnesses, require_witness, progress=tick, promises=collected)
    finally:
        engine.dispose()
    if trust is not None:
        hold_to_trust(report, manifest, doc)
    return report.as_dict()


@audit_app.command("export")
def audit_export(folder: Path = typer.Argument(..., help="folder to write records.jsonl and deployment.json"),
                 as_json: bool = JSON_OUT) -> None:
    """Export the record log and the deployment manifest so anyone can verify without the database.

    Example: `provex audit export ./audit-2025-06` then `provex audit verify --from ./audit-2025-06 --rpc URL`.
    """
    from sqlmodel import Session

    from ledger.verify import export_log
    from registry.db import make_engine
    from registry.verification import stored_records

    settings = get_settings()
    manifest = settings.home / "deployment.json"
    if not manifest.exists():
        console.print(f"[red]no deployment manifest in {settings.home}[/red]")
        raise typer.Exit(2)
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        with Session(engine) as s, console.status("exporting the record log"):
            n = export_log(stored_records(s), manifest.read_text(), folder)
    finally:
        engine.dispose()
    if as_json:
        dump({"folder": str(folder), "records": n})
    else:
        console.print(f"exported {n} records and the deployment manifest to {folder}")


audit_app.command("report")(audit_report)
audit_app.command("revenue")(audit_revenue)
