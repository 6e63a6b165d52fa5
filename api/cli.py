"""The `provex` command line (Typer + rich)."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from api import (
    cli_assets,
    cli_audit,
    cli_licenses,
    cli_models,
    cli_registration,
    cli_tools,
    cli_verify,
    cli_vouchers,
    cli_worker,
)
from api.cli_errors import Cli
from api.cli_keys import keys_app
from api.cli_policy import policy_app
from api.cli_witness import witness
from api.settings import DevDefaultsRefused, get_settings
from ledger.client import ChainClient
from ledger.deploy import Deployment
from ledger.rpc_file import RPC_FILE, read_endpoint
from ledger.runtime import ChainRuntime
from registry.errors import RegistryError

app = Cli(help="Provex: public-data exchange and authorized-operation ledger.", no_args_is_help=True)
chain_app = typer.Typer(help="The EVM chain: start Anvil, deploy the contracts, inspect.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(keys_app, name="keys")
console = Console()


@app.callback()
def _refuse_dev_defaults_in_prod() -> None:
    # Every command starts by reading the settings: PROVEX_ENV=prod with a dev default stops here.
    try:
        get_settings()
    except DevDefaultsRefused as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


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


@chain_app.command("deploy")
def chain_deploy(as_json: bool = typer.Option(False, "--json", help="print the manifest as JSON")) -> None:
    """Deploy the contracts once (or find them deployed) and exit: run it before starting several API workers
    and `provex worker` against one chain (PROVEX_RPC_URL), so none of them races to deploy.

    Example: `PROVEX_RPC_URL=http://127.0.0.1:8545 PROVEX_DEPLOYER_KEY=0x… provex chain deploy`.
    """
    chain_up(as_json=as_json, exit_after_deploy=True)


@chain_app.command("status")
def chain_status(
    rpc_url: str = typer.Option(None, "--rpc", help="JSON-RPC URL (default PROVEX_RPC_URL, else the URL the "
                                "running chain published in <home>/chain-rpc.json)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Show the deployment manifest, whether the chain runs (and where) and still has the code.

    Without `--rpc` or PROVEX_RPC_URL it asks the chain this home's runtime (`provex demo`, `provex up`,
    `provex chain up`) published. Example: `provex chain status`.
    """
    settings = get_settings()
    manifest = Deployment.load(settings.home / "deployment.json")
    if manifest is None:
        console.print(f"no deployment manifest under {settings.home}; run `provex chain up`")
        raise typer.Exit(1)
    published = read_endpoint(settings.home)
    live = published if published is not None and published.running else None
    url = rpc_url or settings.rpc_url or (live.rpc_url if live else None)
    status: dict[str, object] = {"manifest": manifest.__dict__, "rpc_url": url, "running": False}
    if published is not None and live is None:
        status["stale"] = f"{settings.home / RPC_FILE} names process {published.pid}, which is gone"
    if url:
        client = ChainClient(url, timeout=3)
        status["running"] = status["reachable"] = client.is_up()
        if status["reachable"]:
            status["block"] = client.block_number()
            status["code_present"] = {n: client.has_code(a) for n, a in manifest.addresses.items()}
    if as_json:
        console.print_json(json.dumps(status))
        return
    _print_manifest(manifest, url or "(embedded)", False)
    if status["running"]:
        console.print(f"running at {url}")
    else:
        stale = f" ({status['stale']})" if "stale" in status else ""
        console.print(f"not running{f' at {url}' if url else ''}{stale}")
    for key in ("block", "code_present"):
        if key in status:
            console.print(f"{key}: {status[key]}")


accounts_app = typer.Typer(help="Participant accounts.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("create")
def accounts_create(
    role: str = typer.Option(..., "--role", help="authority, operator, provider, exchange, buyer or auditor"),
    name: str = typer.Option(..., "--name", help="display name"),
    binding: str = typer.Option(..., "--binding", help="the holder's binding JSON (`provex keys bind`): a file, "
                                                       "or - for standard input"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Create an account bound to its holder's address and print its API key once (only its hash is stored).

    The holder signs the binding with its own key on its own machine (`provex keys bind`); the exchange never
    sees the key. Chain setup is queued and sent by the running server (`provex up`).
    Example: `provex accounts create --role authority --name "Hohhot Data Bureau" --binding authority.json`.
    """
    from api.bootstrap import create_bootstrap_account
    from registry.models import Role

    if role not in {r.value for r in Role}:
        console.print(f"[red]--role must be one of {', '.join(r.value for r in Role)}[/red]")
        raise typer.Exit(2)
    text = sys.stdin.read() if binding == "-" else Path(binding).read_text()
    try:
        out = create_bootstrap_account(get_settings(), role, name, json.loads(text))
    except (ValueError, KeyError, RegistryError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(out))
        return
    table = Table(title="account created", show_header=False)
    for k, v in out.items():
        table.add_row(k, v)
    console.print(table)
    console.print("[yellow]the API key is shown only now; keep it[/yellow]")


provider_app = typer.Typer(help="Provider nodes: keep raw data, answer federated queries with masked aggregates.",
                           no_args_is_help=True)
app.add_typer(provider_app, name="provider")
provider_app.add_typer(policy_app, name="policy")


def fetch_coordinator_key(exchange: str) -> str:
    """The exchange's coordinator public key, from `GET <exchange>/coordinator/identity`."""
    r = httpx.get(exchange.rstrip("/") + "/coordinator/identity", timeout=10)
    r.raise_for_status()
    return str(r.json()["public_key"])


@provider_app.command("serve")
def provider_serve(
    data: Path = typer.Option(None, "--data", exists=True, dir_okay=False, help="CSV or Parquet file (stays here)"),
    source: str = typer.Option(None, "--source", help="or a PostgreSQL table: "
                               "postgresql://user@host:port/db#schema.table (plans pushed down; rows stay there)"),
    node_id: str = typer.Option(..., "--id", help="node id (register the same id with the exchange)"),
    port: int = typer.Option(..., "--port", help="port to listen on"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address"),
    key_dir: Path = typer.Option(None, "--key-dir", help="identity key folder (default .provex/providers/<id>)"),
    exchange: str = typer.Option(None, "--exchange", help="exchange API URL: fetch its coordinator key"),
    coordinator_key: str = typer.Option(None, "--coordinator-key", help="the exchange's coordinator key (hex)"),
    require_noise: bool = typer.Option(False, "--require-noise", help="refuse un-noised queries"),
    policy: Path = typer.Option(None, "--policy", exists=True, dir_okay=False,
                                help="the node's signed policy (default <key-dir>/policy.json when present)"),
) -> None:
    """Run a provider node; it answers only the exchange's coordinator.

    Prints one JSON line (node id, URL, public key, policy hash), then serves until Ctrl-C. Every plan must
    keep the node's signed policy (`provex provider policy`). Register it with `POST /providers/me/node`. Example:
    `provex provider serve --data yields.csv --id agri-1 --port 8801 --exchange http://127.0.0.1:8700`
    (or `--source postgresql://node@db:5432/farm#public.yields`).
    """
    from privacy.provider.app import serve
    from privacy.provider.postgres import SourceError

    if (data is None) == (source is None):
        console.print("[red]give --data FILE or --source postgresql://...#table (one of them)[/red]")
        raise typer.Exit(2)
    if exchange and coordinator_key:
        console.print("[red]give --exchange or --coordinator-key, not both[/red]")
        raise typer.Exit(2)
    if exchange:
        try:
            coordinator_key = fetch_coordinator_key(exchange)
        except (httpx.HTTPError, KeyError, ValueError) as e:
            console.print(f"[red]could not fetch the coordinator key from {exchange}: {e}[/red]")
            raise typer.Exit(1) from None
    from privacy.provider.policy import PolicyFormatError

    try:
        serve(data if data is not None else source, node_id, port, host, key_dir, coordinator_key, require_noise,
              policy)
    except (PolicyFormatError, SourceError) as e:
        console.print(f"[red]the node did not start: {e}[/red]")
        raise typer.Exit(2) from None


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
def demo(
    fresh: bool = typer.Option(False, "--fresh", help="delete PROVEX_HOME and start over"),
    no_wait: bool = typer.Option(False, "--no-wait", "--exit", help="print the summary, then stop everything"),
) -> None:
    """Start the embedded exchange (Anvil, API + portal, 3 provider nodes) and play the demo story.

    The first run generates the synthetic datasets and plays the story; later runs reuse the state in
    PROVEX_HOME. Prints what happened, the portal URL and an API key per role; Ctrl-C stops everything.
    Examples: `provex demo`, `provex demo --fresh`, `provex demo --no-wait` (for scripts and CI).
    """
    from api.client import ApiError
    from api.demo.run import DemoStopped, run_demo

    try:
        run_demo(get_settings(), console, fresh=fresh, wait=not no_wait)
    except DemoStopped:
        raise typer.Exit(130) from None
    except (ApiError, RuntimeError, TimeoutError) as e:
        console.print(f"[red]the demo failed: {e}[/red]\n(logs under PROVEX_HOME/demo/logs)")
        raise typer.Exit(1) from None


cli_tools.products_app.add_typer(cli_assets.costs_app, name="costs")
cli_tools.register(app)
cli_licenses.register(app)
cli_registration.register(app)
app.add_typer(cli_audit.audit_app, name="audit")
app.add_typer(cli_vouchers.vouchers_app, name="vouchers")
app.add_typer(cli_models.model_app, name="model")
app.command("witness")(witness)
app.command("worker")(cli_worker.worker)
app.command("verify")(cli_verify.verify)

if __name__ == "__main__":
    app()
