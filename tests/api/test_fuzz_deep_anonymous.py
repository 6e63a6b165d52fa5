"""Schemathesis's slow phases too (boundary coverage and random fuzzing), on SQLite, for the suite's time budget,
with no key: every route's input handling before authentication. A module of its own (one per role) so that test
workers run the slow passes side by side (`test_schemathesis.py` has the shallow pass for every role)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.runtime import ChainRuntime
from tests.api.fuzzing import DEEP, fuzz_as, fuzz_server
from tests.utils.server import Server


@pytest.fixture(scope="module")
def server(chain: ChainRuntime, deployer: LocalAccount, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with fuzz_server("sqlite", chain, deployer, tmp_path_factory.mktemp("fuzz-deep-anonymous")) as s:
        yield s


@pytest.mark.timeout(900)
def test_fuzz_deep_anonymous(server: Server, tmp_path: Path) -> None:
    fuzz_as(server, "none", DEEP, tmp_path)
