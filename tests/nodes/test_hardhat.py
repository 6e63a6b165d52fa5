"""The chain subset (tests/nodes/subset.py) on Hardhat 2's node, a second EVM implementation: the Paris
hardfork, contracts compiled for `paris` (no PUSH0), a block per transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.contracts import RECORDER_ROLE
from ledger.runtime import ChainConfig, ChainRuntime
from tests.nodes.subset import (
    Node,
    api,
    start_node,
    test_anchoring_waits_for_confirmations,
    test_bytecode_fits_the_evm,
    test_purchase_anchored_and_verified,
    test_revert_decoded,
)

__all__ = ["api", "test_anchoring_waits_for_confirmations", "test_bytecode_fits_the_evm",
           "test_purchase_anchored_and_verified", "test_revert_decoded"]


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
