"""The chain subset (tests/nodes/subset.py) on Hardhat 2's node, a second EVM implementation: the Paris
hardfork, contracts compiled for `paris` (no PUSH0), a block per transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
