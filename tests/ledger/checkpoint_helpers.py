"""Builders for checkpoint tests: a fresh CheckpointLog on the shared chain, and the consistency harness."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from ledger.compiler import Build, compile_contracts
from ledger.contracts import Ledger

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
HARNESS = Path(__file__).resolve().parent / "sol" / "MerkleConsistencyHarness.sol"


def _deploy(ledger: Ledger, deployer: LocalAccount, abi: list[dict[str, Any]], bytecode: str,
            *args: Any) -> str:
    w3 = ledger.client.w3
    receipt = ledger.client.transact(deployer, w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args))
    return str(w3.eth.get_transaction_receipt(receipt.tx_hash)["contractAddress"])  # type: ignore[arg-type]


def fresh_log(ledger: Ledger, build: Build, deployer: LocalAccount, governance: LocalAccount,
              recorder: LocalAccount) -> Ledger:
    """`ledger` with a CheckpointLog of its own (checkpoint sizes are global to one log), anchored by `recorder`."""
    art = build.artifacts["CheckpointLog"]
    address = _deploy(ledger, deployer, art.abi, art.bytecode, 0, governance.address, recorder.address)
    deployment = dataclasses.replace(ledger.deployment,
                                     addresses={**ledger.deployment.addresses, "CheckpointLog": address})
    return Ledger(ledger.client, deployment, build)


def consistency_harness(ledger: Ledger, deployer: LocalAccount, work: Path, build_cache: Path) -> Contract:
    """Deploy tests/ledger/sol/MerkleConsistencyHarness.sol, compiled beside contracts/MerkleConsistency.sol."""
    src = work / "harness-src"
    src.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONTRACTS / "MerkleConsistency.sol", src)
    shutil.copy(HARNESS, src)
    art = compile_contracts(src, build_cache).artifacts["MerkleConsistencyHarness"]
    address = _deploy(ledger, deployer, art.abi, art.bytecode)
    return ledger.client.w3.eth.contract(address=address, abi=art.abi)  # type: ignore[arg-type]
