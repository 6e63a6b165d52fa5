"""Schemathesis's slow phases too (boundary coverage and random fuzzing), on SQLite, for the suite's time budget,
as the roles with the most write routes and the richest inputs (operator: products, offers, policies; buyer:
purchases, SQL queries, verifications), every write signed by the role's own key. `test_schemathesis.py` has the
shallow pass for every role and for no key, on both backends."""

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
    with fuzz_server("sqlite", chain, deployer, tmp_path_factory.mktemp("fuzz-deep")) as s:
        yield s


@pytest.mark.timeout(600)
@pytest.mark.parametrize("role", ["operator", "buyer"])
def test_fuzz_deep(server: Server, role: str, tmp_path: Path) -> None:
    fuzz_as(server, role, DEEP, tmp_path)
