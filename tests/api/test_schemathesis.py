"""Schemathesis against the live OpenAPI schema, every operation, as every role and with no key.

Bounded for CI: for every role, the schema's examples for every operation, then the stateful phase
(operations chained through the links Schemathesis infers from response schemas and path parameters).
Checks: no server error, responses match the schema, and no 2xx (and the right 401/403) for a role outside
the operation's `x-roles`. Key rotation, revocation and recovery are left out (they would replace the key the
run uses). The boundary-coverage and random-fuzzing phases run in `test_fuzz_deep.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.runtime import ChainRuntime
from tests.api.fuzzing import ROLES, SHALLOW, fuzz_as, fuzz_server
from tests.utils.server import BACKENDS, Server


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, chain: ChainRuntime, deployer: LocalAccount,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with fuzz_server(request.param, chain, deployer, tmp_path_factory.mktemp(f"fuzz-{request.param}")) as s:
        yield s


@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation(server: Server, role: str, tmp_path: Path) -> None:
    fuzz_as(server, role, SHALLOW, tmp_path)
