"""The `provex` command line (Typer + rich)."""

from __future__ import annotations

import contextlib
import json
import signal
import threading

import typer
from rich.console import Console
from rich.table import Table
from web3 import Web3

from api.settings import get_settings
from ledger.client import ChainClient
from ledger.deploy import Deployment
from ledger.runtime import ChainRuntime

app = typer.Typer(help="Provex: public-data exchange and authorized-operation ledger.", no_args_is_help=True)
chain_app = typer.Typer(help="The EVM chain: start Anvil, deploy the contracts, inspect.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
console = Console()


def _print_manifest(manifest: Deployment, rpc_url: str, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps({"rpc_url": rpc_url, **manifest.__dict__}))
        return
    table = Table(title="Provex deployment", show_header=False)
    table.add_row("RPC", rpc_url)
    table.add_row("chain id", str(manifest.chain_id))
    for name, address in manifest.addresses.items():
        table.add_row(name, address)
    table.add_row("deployment block", str(manifest.deployment_block))
    table.add_row("compiler", manifest.compiler_version)
    table.add_row("sources hash", manifest.sources_hash)
    console.print(table)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


@chain_app.command("up")
def chain_up(
    as_json: bool = typer.Option(False, "--json", help="print the manifest as JSON"),
    exit_after_deploy: bool = typer.Option(False, "--exit", help="stop after printing the manifest"),
) -> None:
    """Start Anvil (unless PROVEX_RPC_URL is set), deploy or reuse the contracts, print the manifest.

    Example: `provex chain up` then Ctrl-C to stop; `provex chain up --exit --json` for scripts.
    """
    settings = get_settings()
    runtime = ChainRuntime(settings.chain_config())
    with console.status("compiling and deploying contracts"):
        runtime.start()
    try:
        _print_manifest(runtime.deployment, runtime.rpc_url, as_json)
        if not exit_after_deploy:
            console.print("[green]chain is up[/green]; Ctrl-C stops it")
            wait_for_interrupt()
    finally:
        runtime.stop()


@chain_app.command("status")
def chain_status(
    rpc_url: str = typer.Option(None, "--rpc", help="JSON-RPC URL (default PROVEX_RPC_URL)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Show the deployment manifest and whether the chain answers and still has the code.

    Example: `provex chain status --rpc http://127.0.0.1:8545`.
    """
    settings = get_settings()
    manifest = Deployment.load(settings.home / "deployment.json")
    if manifest is None:
        console.print(f"no deployment manifest under {settings.home}; run `provex chain up`")
        raise typer.Exit(1)
    url = rpc_url or settings.rpc_url
    status: dict[str, object] = {"manifest": manifest.__dict__, "rpc_url": url}
    if url:
        client = ChainClient(url, timeout=3)
        status["reachable"] = client.is_up()
        if status["reachable"]:
            status["block"] = client.block_number()
            status["code_present"] = {
                n: len(client.w3.eth.get_code(Web3.to_checksum_address(a))) > 0 for n, a in manifest.addresses.items()}
    if as_json:
        console.print_json(json.dumps(status))
    else:
        _print_manifest(manifest, url or "(embedded, not running)", False)
        for key in ("reachable", "block", "code_present"):
            if key in status:
                console.print(f"{key}: {status[key]}")


accounts_app = typer.Typer(help="Participant accounts.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("create")
def accounts_create(
    role: str = typer.Option(..., "--role", help="authority, operator, provider, exchange, buyer or auditor"),
    name: str = typer.Option(..., "--name", help="display name"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Create an account and print its API key once (only its hash is stored).

    Its chain setup (gas, chain role) is queued and sent by the running server (`provex up`).
    Example: `provex accounts create --role authority --name "Hohhot Data Bureau"`.
    """
    from ledger.keys import Keyring
    from registry.accounts import create_account
    from registry.db import make_engine, migrate, session_scope
    from registry.models import Role

    try:
        role_value = Role(role)
    except ValueError:
        console.print(f"[red]--role must be one of {', '.join(r.value for r in Role)}[/red]")
        raise typer.Exit(2) from None
    settings = get_settings()
    engine = make_engine(settings.db_url, pool_size=1)
    migrate(engine)
    keyring = Keyring(settings.key_passphrase.get_secret_value(), settings.keystore_scrypt_n)
    with session_scope(engine) as session:
        row, api_key = create_account(session, keyring, None, role=role_value, name=name)
    engine.dispose()
    out = {"id": row.id, "role": row.role, "name": row.name, "address": row.address, "api_key": api_key}
    if as_json:
        console.print_json(json.dumps(out))
        return
    table = Table(title="account created", show_header=False)
    for k, v in out.items():
        table.add_row(k, v)
    console.print(table)
    console.print("[yellow]the API key is shown only now; keep it[/yellow]")


@app.command("up")
def up(
    host: str = typer.Option(None, "--host", help="bind address (default PROVEX_API_HOST)"),
    port: int = typer.Option(None, "--port", help="port (default PROVEX_API_PORT)"),
) -> None:
    """Start the API with its chain (embedded Anvil unless PROVEX_RPC_URL is set). Docs at /docs."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host=host or settings.api_host, port=port or settings.api_port,
                log_level="info")


@app.command("demo")
def demo(fresh: bool = typer.Option(False, "--fresh", help="start over from an empty state")) -> None:
    """Start the embedded exchange and play the demo story (chain + contracts for now)."""
    settings = get_settings()
    if fresh:
        import shutil

        shutil.rmtree(settings.home, ignore_errors=True)
    chain_up(as_json=False, exit_after_deploy=False)


if __name__ == "__main__":
    app()
