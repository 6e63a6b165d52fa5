"""`provex witness`: a witness on its own machine, with its own key, cosigns the checkpoints it checked.

It takes the CheckpointLog's address only from the authority's trust file (checked against the chain first), reads
each new checkpoint's consistency proof from its anchoring transaction, checks it extends the last checkpoint it
cosigned (kept in its own state file), and cosigns it from its own account (`ledger.witness`). It prints one JSON
line per checkpoint cosigned, and an alarm line when the log disagrees with what it cosigned. Exit codes with
`--once`: 0 all cosigned, 1 alarm, 2 bad trust file / key / state, 3 chain unavailable.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from eth_account.signers.local import LocalAccount

from api.cli_keys import DEFAULT_KEYSTORE, passphrase
from api.cli_trust import AUTHORITY, build, load_trust, rpc_url

if TYPE_CHECKING:
    from ledger.witness import Witness


def emit(line: dict[str, Any]) -> None:
    typer.echo(json.dumps(line, sort_keys=True))


def _account(keystore: Path, name: str) -> LocalAccount:
    from ledger.keys import KeyfileError
    from ledger.keystore import Keystore, KeystoreError

    try:
        return Keystore(keystore).open(name, passphrase(confirm=False))
    except (KeystoreError, KeyfileError) as exc:
        emit({"error": "key", "detail": str(exc)})
        raise typer.Exit(2) from None


def witness(
    rpc: str = typer.Option(None, "--rpc", help="chain JSON-RPC URL (default PROVEX_RPC_URL)"),
    trust: Path = typer.Option(..., "--trust", help="the authority's signed trust file: names the CheckpointLog"),
    keystore: Path = typer.Option(None, "--keystore", help="your keystore folder (default PROVEX_KEYSTORE or "
                                  "~/.provex/keystore)"),
    key: str = typer.Option("witness", "--key", help="your key's name in the keystore (it pays the gas)"),
    state: Path = typer.Option(None, "--state", help="your state file: the last checkpoint you cosigned "
                               "(default beside the keystore, one per CheckpointLog)"),
    authority: str = AUTHORITY,
    once: bool = typer.Option(False, "--once", help="one pass, then exit (1 on an alarm)"),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="seconds between passes"),
    promises: Path = typer.Option(None, "--promises", help="the recorder's promises participants handed you (JSON "
                                  "list or lines, e.g. an export's promises.jsonl): alarm for each record not "
                                  "anchored by its deadline"),
) -> None:
    """Follow the trusted CheckpointLog, check each new checkpoint extends the last one you cosigned, cosign it.

    Runs on the witness's own machine with its own key (authority, auditor or any third party); it trusts no API
    or database of the exchange. Example: `provex witness --rpc http://127.0.0.1:8545 --trust ./trust.json
    --keystore ~/.provex/keystore --key witness --once`.
    """
    from ledger.client import ChainClient
    from ledger.contracts import Ledger
    from ledger.errors import ChainUnavailable, ErrorDecoder
    from ledger.promises import PromiseError, read_promises
    from ledger.trust import check_trust
    from ledger.witness import Witness, WitnessStateError, trusted_promises

    doc = load_trust(trust)
    contracts = build()
    client = ChainClient(rpc_url(rpc), ErrorDecoder([a.abi for a in contracts.artifacts.values()]))
    try:
        problems = check_trust(doc, client, contracts, authority)
    except ChainUnavailable as exc:
        emit({"error": "chain_unavailable", "detail": str(exc)})
        raise typer.Exit(3) from None
    if problems:
        emit({"error": "trust_refused", "problems": [p.__dict__ for p in problems]})
        raise typer.Exit(2)
    root = keystore or Path(os.environ.get("PROVEX_KEYSTORE") or DEFAULT_KEYSTORE)
    log = doc.contracts["CheckpointLog"]
    w = Witness(Ledger(client, doc.deployment(), contracts), _account(root, key),
                state or root.parent / f"witness-{doc.chain_id}-{log}.json")
    try:
        emit({"witness": w.account.address, "checkpoint_log": log, "state": str(w.state_path),
              "last_cosigned": w.state().describe()})
    except WitnessStateError as exc:
        emit({"error": "state", "detail": str(exc)})
        raise typer.Exit(2) from None
    held: list[Any] = []
    if promises is not None:
        try:
            held, refused = trusted_promises(w.ledger, read_promises(promises.read_text(encoding="utf-8"),
                                                                      str(promises)))
        except (OSError, PromiseError) as exc:
            emit({"error": "promises", "detail": str(exc)})
            raise typer.Exit(2) from None
        for line in refused:
            emit(line)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        code = _pass(w, held)
        if once:
            raise typer.Exit(code)
        try:
            stop.wait(interval)
        except KeyboardInterrupt:
            stop.set()
        if stop.is_set():
            return


def _pass(w: Witness, promises: list[Any]) -> int:
    """One pass: 0 when every new checkpoint was cosigned and every promise held, 1 on an alarm, 3 when the chain
    did not answer."""
    from ledger.errors import ChainError, ChainUnavailable

    try:
        for line in w.run_once():
            emit(line)
            if "alarm" in line:
                return 1
        broken = list(w.promise_alarms(promises))
        for line in broken:
            emit(line)
        if broken:
            return 1
    except ChainUnavailable as exc:
        emit({"error": "chain_unavailable", "detail": str(exc)})
        return 3
    except ChainError as exc:  # e.g. the witness's account cannot pay the gas
        emit({"error": "chain", "detail": str(exc)})
        return 3
    return 0
