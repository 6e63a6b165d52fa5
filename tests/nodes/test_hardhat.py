"""The chain subset (tests/nodes/subset.py) on Hardhat 2's node, a second EVM implementation: the Paris
hardfork, contracts compiled for `paris` (no PUSH0), a block per transaction."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from ledger import hardhat
from ledger.anvil import DEV_DEPLOYER_KEY, Anvil, free_port
from ledger.contracts import RECORDER_ROLE
from ledger.hardhat import Hardhat
from ledger.runtime import ChainConfig, ChainRuntime
from tests.nodes.subset import (
    Node,
    api,
    start_node,
    test_a_signers_acts_relayed_back_to_back,
    test_anchoring_waits_for_confirmations,
    test_bytecode_fits_the_evm,
    test_purchase_anchored_and_verified,
    test_revert_decoded,
)

__all__ = ["api", "test_a_signers_acts_relayed_back_to_back", "test_anchoring_waits_for_confirmations",
           "test_bytecode_fits_the_evm", "test_purchase_anchored_and_verified", "test_revert_decoded"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, build_cache: Path) -> Iterator[Node]:
    yield from start_node("hardhat-paris", tmp_path_factory.mktemp("hardhat-paris"), build_cache)


def test_chain_without_base_fee(node: Node, tmp_path: Path, build_cache: Path) -> None:
    """A chain whose blocks carry no base fee (Berlin rules, as some consortium chains run) takes legacy-priced
    transactions: the contracts deploy (the paris build: no opcode newer than Berlin's but PREVRANDAO, which
    is DIFFICULTY's) and a role grant lands as a type-0 transaction."""
    with Anvil(hardfork="berlin", log_file=tmp_path / "anvil.log") as anvil:
        runtime = ChainRuntime(ChainConfig(home=tmp_path / "home", rpc_url=anvil.url, deployer_key=DEV_DEPLOYER_KEY,
                                           evm_version="paris", build_cache=build_cache, persist_state=False))
        try:
            ledger = runtime.start().ledger
            assert ledger is not None and runtime.governance is not None
            assert ledger.client.w3.eth.get_block("latest").get("baseFeePerGas") is None
            grant = ledger.grant_role(runtime.governance, "CheckpointLog", RECORDER_ROLE, Account.create().address)
            assert ledger.client.w3.eth.get_transaction(grant.tx_hash)["type"] == 0  # type: ignore[arg-type]
        finally:
            runtime.stop()


def test_launcher_moves_off_a_taken_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hardhat binds its port itself: when the free port it was given is taken meanwhile (here by a listening
    socket of ours), the child exits and the launcher starts it again on another port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        monkeypatch.setattr(hardhat, "free_port", lambda: next(ports, None) or free_port())
        with Hardhat(tmp_path / "hardhat.log", chain_id=4242) as node:
            assert node.port != taken.getsockname()[1]
            r = httpx.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=5)
            assert int(r.json()["result"], 16) == 4242
        assert node.proc is not None and node.proc.poll() is not None, "stopped"
