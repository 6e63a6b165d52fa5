"""Schemathesis against the live OpenAPI schema, every operation, as every role and with no key.

Bounded for CI: for every role, the schema's examples for every operation, then the stateful phase
(operations chained through the links Schemathesis infers from response schemas and path parameters);
for no key and one privileged key, also the boundary-coverage and random-fuzzing phases. Checks: no server
error, responses match the schema, and no 2xx (and the right 401/403) for a role outside the operation's
`x-roles`. Each role's requests pass through a local proxy that signs them with the role's own key, as
its client would. Fuzzing writes, so it runs against servers of its own; key rotation, revocation and
recovery are left out (they would replace the key the run uses).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.runtime import ChainRuntime
from tests.utils.server import BACKENDS, Server, drop_database, start_server
from tests.utils.signing_proxy import SigningProxy

ROLES = ["none", "authority", "operator", "provider", "exchange", "buyer", "auditor"]
# Also boundary coverage and random fuzzing (the slow phases), on SQLite, for the suite's time budget: with no
# key (every route's input handling before authentication) and as the exchange (the most write routes, each
# signed and answered 428 first). PostgreSQL gets the examples and the stateful phase for every role.
DEEP = {("none", "sqlite"), ("exchange", "sqlite")}
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = "tests.api.schemathesis_hooks"
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,role_enforced"


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_server(request: pytest.FixtureRequest, chain: ChainRuntime, deployer: LocalAccount,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server, pg_name = start_server(request.param, chain, deployer, tmp_path_factory.mktemp(f"fuzz-{request.param}"))
    yield server
    server.proc.terminate()
    server.proc.wait(10)
    if pg_name:
        drop_database(pg_name)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation(fuzz_server: Server, role: str, tmp_path: Path) -> None:
    server = fuzz_server
    with SigningProxy(server.url, server.accounts.get(role)) as proxy:  # the role's own key signs its requests
        run_schemathesis(server, proxy.url, role, tmp_path)


def run_schemathesis(server: Server, url: str, role: str, tmp_path: Path) -> None:
    # One worker: on CPython 3.11, ast.parse in concurrent threads (Hypothesis describing lambdas) can
    # fail with "AST constructor recursion depth mismatch".
    cmd = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", CHECKS,
           "--max-examples", "4",
           "--phases", "examples,coverage,fuzzing,stateful" if (role, server.backend) in DEEP else "examples,stateful",
           "--seed", "7",
           "--generation-deterministic", "--no-color", "--workers", "1",
           "--request-timeout", "20", "--exclude-path", "/dev/mint",
           "--exclude-path-regex", "(rotate|revoke|recover)-key",
           "--report", "junit", "--report-dir", str(tmp_path)]
    if role != "none":
        cmd += ["-H", f"Authorization: Bearer {server.keys[role]}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PROVEX_FUZZ_ROLE": role,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
