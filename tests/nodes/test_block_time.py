"""The chain subset (tests/nodes/subset.py) on Anvil sealing a block every second with `confirmations = 1`:
receipts wait for blocks, anchoring waits for depth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
    yield from start_node("anvil-block-time", tmp_path_factory.mktemp("anvil-block-time"), build_cache)
