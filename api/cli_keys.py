"""`provex keys`: the participant's own keystore (new, import, show, export-address, bind).

Keys live on the participant's machine (`PROVEX_KEYSTORE`, default `~/.provex/keystore`); the
passphrase comes from `PROVEX_KEYSTORE_PASSPHRASE` or a prompt, and a private key to import from
standard input, never from the command line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx
import typer
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from api.client.signer import domain_from, make_binding
from ledger.keys import KeyfileError
from ledger.keystore import KeyEntry, Keystore, KeystoreError

keys_app = typer.Typer(help="Your own signing keys, kept on this machine (keyfile v3).", no_args_is_help=True)
console = Console()

DEFAULT_KEYSTORE = Path.home() / ".provex" / "keystore"


def keystore() -> Keystore:
    root = Path(os.environ.get("PROVEX_KEYSTORE") or DEFAULT_KEYSTORE)
    scrypt_n = int(os.environ.get("PROVEX_KEYSTORE_SCRYPT_N", "0") or 0)
    return Keystore(root, scrypt_n) if scrypt_n else Keystore(root)


def passphrase(confirm: bool) -> str:
    """From PROVEX_KEYSTORE_PASSPHRASE, else asked (twice when creating)."""
    env = os.environ.get("PROVEX_KEYSTORE_PASSPHRASE")
    if env:
        return env
    return str(typer.prompt("keystore passphrase", hide_input=True, confirmation_prompt=confirm))


def open_key(name: str) -> LocalAccount:
    """Your key `name`, decrypted with your passphrase (for signing); exits with the reason when it cannot."""
    try:
        return keystore().open(name, passphrase(confirm=False))
    except (KeystoreError, KeyfileError) as exc:
        _fail(exc)
        raise


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2)


def _show(entries: list[KeyEntry], as_json: bool) -> None:
    if as_json:
        console.print_json(data=[{"name": e.name, "address": e.address, "path": str(e.path)} for e in entries])
        return
    table = Table(title=f"keystore {keystore().root}")
    for col in ("name", "address", "file"):
        table.add_column(col)
    for e in entries:
        table.add_row(e.name, e.address, str(e.path))
    console.print(table)


@keys_app.command("new")
def keys_new(name: str = typer.Argument(..., help="a label, e.g. authority"),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a fresh key, encrypted with your passphrase; prints its address."""
    try:
        entry = keystore().new(name, passphrase(confirm=True))
    except KeystoreError as exc:
        _fail(exc)
    _show([entry], as_json)


@keys_app.command("import")
def keys_import(name: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """Import a private key (hex) read from standard input."""
    private_key = sys.stdin.readline().strip() if not sys.stdin.isatty() else typer.prompt(
        "private key (hex)", hide_input=True)
    try:
        entry = keystore().import_key(name, private_key, passphrase(confirm=True))
    except KeystoreError as exc:
        _fail(exc)
    _show([entry], as_json)


@keys_app.command("show")
def keys_show(name: str | None = typer.Argument(None), as_json: bool = typer.Option(False, "--json")) -> None:
    """List the keys (names, addresses, files), or one key; never the private key."""
    try:
        entries = [keystore().get(name)] if name else keystore().entries()
    except KeystoreError as exc:
        _fail(exc)
    _show(entries, as_json)


@keys_app.command("export-address")
def keys_export_address(
    name: str = typer.Argument(...),
    check: bool = typer.Option(False, "--check", help="decrypt first (proves the passphrase)"),
) -> None:
    """Print only the key's address (for scripts and for the exchange)."""
    try:
        ks = keystore()
        address = ks.open(name, passphrase(confirm=False)).address if check else ks.get(name).address
    except (KeystoreError, KeyfileError) as exc:
        _fail(exc)
    typer.echo(address)


@keys_app.command("bind")
def keys_bind(
    name: str = typer.Argument(..., help="the key's name in your keystore"),
    role: str = typer.Option(..., "--role"),
    account_name: str = typer.Option(..., "--name", help="the account's display name"),
    api: str = typer.Option(None, "--api", help="the exchange's API URL, whose `GET /signing` names the domain "
                            "(default PROVEX_API_URL, else the running demo's, else http://127.0.0.1:8700)"),
) -> None:
    """Sign a binding of this key's address to an account (role, name) at that exchange; prints its JSON, which
    the exchange passes to `POST /accounts` or `provex accounts create --binding`."""
    from api.demo.endpoint import default_api_url
    from api.settings import get_settings

    account = open_key(name)
    api = api or default_api_url(get_settings().home)
    try:
        info = httpx.get(api.rstrip("/") + "/signing", timeout=30).json()
    except (httpx.HTTPError, ValueError) as exc:
        _fail(exc)
    typer.echo(json.dumps(make_binding(account, domain_from(info), role, account_name)))
