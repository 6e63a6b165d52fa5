"""`provex audit trust make|check`: the authority's signed trust file, and verification that trusts only it.

`make` reads the deployment manifest and the chain, signs with the authority's key (a key of your keystore,
`--signer NAME`, see `provex keys`; in a bare dev start without an outside governance, the dev governance
key under `<home>/keys`) and writes the file. `check` holds a trust file against the chain. The format is
in docs/trust-file.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from ledger.compiler import Build

if TYPE_CHECKING:  # ledger.trust loads the verifier and the database layer: only the commands that use it
    from ledger.trust import TrustFile

console = Console()
trust_app = typer.Typer(help="The trust file the authority signs: chain, contracts, governance (make, check).",
                        no_args_is_help=True)
RPC = typer.Option(None, "--rpc", help="chain JSON-RPC URL (default PROVEX_RPC_URL, else the running chain's)")
AUTHORITY = typer.Option(None, "--authority", help="the authority address you learned out of band: the "
                         "trust file must be signed by it")


def chain_url(rpc: str | None) -> str | None:
    """`rpc`, else PROVEX_RPC_URL, else the URL the running chain of this home published (`<home>/chain-rpc.json`)."""
    from api.settings import get_settings
    from ledger.rpc_file import running_endpoint

    settings = get_settings()
    live = running_endpoint(settings.home)
    return rpc or settings.rpc_url or (live.rpc_url if live else None)


def rpc_url(rpc: str | None) -> str:
    url = chain_url(rpc)
    if not url:
        console.print("[red]give --rpc URL (the chain to check against)[/red]")
        raise typer.Exit(2)
    return url


def build() -> Build:
    """The compiled contracts (their ABIs), from the settings' sources and cache."""
    from api.settings import get_settings
    from ledger.compiler import compile_contracts

    s = get_settings()
    return compile_contracts(s.contracts_dir, s.home / "build", s.solc, s.toolchain_dir, s.evm_version)


def load_trust(path: Path) -> TrustFile:
    from ledger.trust import TrustFile, TrustFileError

    try:
        return TrustFile.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        console.print(f"[red]cannot read {path}: {exc.strerror}[/red]")
    except TrustFileError as exc:
        console.print(f"[red]{path} is not a trust file: {exc}[/red]")
    raise typer.Exit(1)


def _signing_key(signer: str | None) -> LocalAccount:
    """The authority's key: `--signer NAME` from your keystore, else (dev) the embedded governance key."""
    from api.cli_keys import keystore, passphrase
    from api.settings import get_settings
    from ledger.keys import KeyfileError, Keyring
    from ledger.keystore import KeystoreError
    from ledger.runtime import dev_key_path

    try:
        if signer:
            return keystore().open(signer, passphrase(confirm=False))
        s = get_settings()
        path = dev_key_path(s.home, "governance")
        if s.env == "dev" and path.is_file():
            return Keyring(s.key_passphrase.get_secret_value(), s.keystore_scrypt_n).open(path.read_text())
    except (KeystoreError, KeyfileError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print("[red]give --signer NAME: the authority's key in your keystore (`provex keys import`)[/red]")
    raise typer.Exit(2)


def _problems(problems: list[Any], trust: TrustFile, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps({"ok": not problems, "authority": trust.authority,
                                       "problems": [p.__dict__ for p in problems]}))
    elif problems:
        for p in problems:
            console.print(f"[red]REFUSED[/red] {p.field}: {p.detail}")
    else:
        table = Table(title=f"trust file signed by {trust.authority}", show_header=False)
        table.add_row("chain id", str(trust.chain_id))
        table.add_row("genesis", trust.genesis_hash)
        table.add_row("deployment block", str(trust.deployment_block))
        for name, address in sorted(trust.contracts.items()):
            table.add_row(name, address)
        table.add_row("governance", trust.governance)
        console.print(table)
        console.print("[green]OK[/green]: signature, chain id, genesis, code and governance hold on chain")
    if problems:
        raise typer.Exit(1)


@trust_app.command("make")
def trust_make(
    out: Path = typer.Argument(..., help="where to write the trust file (JSON)"),
    rpc: str = RPC,
    deployment: Path = typer.Option(None, "--deployment", help="manifest (default <home>/deployment.json)"),
    signer: str = typer.Option(None, "--signer", help="the authority's key name in your keystore"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Read the chain and the deployment manifest, sign as the authority, write the trust file.

    Example: `provex audit trust make ./trust.json --rpc http://127.0.0.1:8545` (dev: the embedded
    governance key signs; otherwise `--signer authority` from `provex keys`).
    """
    from api.settings import get_settings
    from ledger.client import ChainClient
    from ledger.contracts import Ledger
    from ledger.deploy import Deployment
    from ledger.trust import make_trust

    url = rpc_url(rpc)
    manifest = Deployment.load(deployment or get_settings().home / "deployment.json")
    if manifest is None:
        console.print("[red]no deployment manifest: give --deployment FILE[/red]")
        raise typer.Exit(2)
    account = _signing_key(signer)
    contracts = build()
    trust, problems = make_trust(Ledger(ChainClient(url), manifest, contracts), account, contracts)
    if not problems:
        out.write_text(trust.to_json(), encoding="utf-8")
    _problems(problems, trust, as_json)
    if not as_json:
        console.print(f"wrote {out}; publish it, and the authority address {trust.authority}, out of band")


@trust_app.command("check")
def trust_check(file: Path = typer.Argument(..., help="a trust file"), rpc: str = RPC,
                authority: str = AUTHORITY, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Check a trust file's signature and hold it against the chain; exit 1 naming each problem.

    Example: `provex audit trust check ./trust.json --rpc http://127.0.0.1:8545`.
    """
    from ledger.client import ChainClient
    from ledger.trust import check_trust

    trust = load_trust(file)
    _problems(check_trust(trust, ChainClient(rpc_url(rpc)), build(), authority), trust, as_json)


def verify_trusted(folder: Path, rpc: str, trust_path: Path, authority: str | None, tick: Any,
                   witnesses: list[str] | None = None, require_witness: bool = False,
                   collected: list[Any] | None = None) -> dict[str, Any]:
    """`audit verify --from DIR --trust FILE`: contract addresses only from the trust file."""
    from ledger.client import ChainClient
    from ledger.contracts import Ledger
    from ledger.trust import verify_export_trusted
    from ledger.verify import read_export
    from registry.reconcile.export import reconcile_into

    trust = load_trust(trust_path)
    client, contracts = ChainClient(rpc), build()
    report = verify_export_trusted(folder, client, contracts, trust, authority,
                                   progress=lambda n: tick("records", n), witnesses=witnesses or (),
                                   require_witness=require_witness, promises=collected or [])
    reconcile_into(report, read_export(folder), Ledger(client, trust.deployment(), contracts))
    return report.as_dict()


def verify_untrusted(folder: Path, rpc: str, tick: Any, witnesses: list[str] | None = None,
                     require_witness: bool = False, collected: list[Any] | None = None) -> dict[str, Any]:
    """`audit verify --from DIR` without a trust file: addresses from the export's own deployment.json."""
    from ledger.client import ChainClient
    from ledger.contracts import Ledger
    from ledger.cosignatures import add_witnesses
    from ledger.deploy import Deployment
    from ledger.role_history import RoleHistory
    from ledger.trust import contract_checkpoints
    from ledger.verify import MANIFEST_FILE, export_promises, promise_book, read_export, verify_log
    from registry.reconcile.export import reconcile_into

    manifest = Deployment.load(folder / MANIFEST_FILE)
    if manifest is None:
        console.print(f"[red]{folder / MANIFEST_FILE} not found[/red]")
        raise typer.Exit(2)
    ledger = Ledger(ChainClient(rpc), manifest, build())
    checkpoints = contract_checkpoints(ledger)
    book = promise_book(ledger, [*export_promises(folder), *(collected or [])])
    report = verify_log(read_export(folder), checkpoints, progress=lambda n: tick("records", n),
                        roles=RoleHistory.read(ledger), promises=book)
    add_witnesses(report, ledger, checkpoints, witnesses or (), require_witness)
    reconcile_into(report, read_export(folder), ledger)
    report.notes.append(f"UNAUTHENTICATED: contract addresses come from the export's own {MANIFEST_FILE}; "
                        "pass --trust FILE (the authority's signed trust file) to take them from it instead")
    return report.as_dict()
