"""Running Schemathesis against a live API as one role (shared by the shallow and deep fuzz modules)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from eth_account.signers.local import LocalAccount

from ledger.runtime import ChainRuntime
from tests.utils.server import Server, drop_database, start_server
from tests.utils.signing_proxy import SigningProxy

ROLES = ["none", "authority", "operator", "provider", "exchange", "buyer", "auditor"]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = "tests.api.schemathesis_hooks"
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,role_enforced"
SHALLOW = "examples,stateful"
DEEP = "coverage,fuzzing"  # the shallow pass runs examples and stateful


@contextmanager
def fuzz_server(backend: str, chain: ChainRuntime, deployer: LocalAccount, home: Path) -> Iterator[Server]:
    """An API of its own (fuzzing writes), stopped and its database dropped afterwards."""
    server, pg_name = start_server(backend, chain, deployer, home)
    try:
        yield server
    finally:
        server.proc.terminate()
        server.proc.wait(10)
        if pg_name:
            drop_database(pg_name)


def fuzz_as(server: Server, role: str, phases: str, tmp_path: Path) -> None:
    """Every operation as `role`, each request signed with the role's own key by a local proxy, as its client
    would sign it."""
    with SigningProxy(server.url, server.accounts.get(role)) as proxy:
        _run(server, proxy.url, role, phases, tmp_path)


def _run(server: Server, url: str, role: str, phases: str, tmp_path: Path) -> None:
    # The API builds its OpenAPI document on the first request: build it here, so Schemathesis's own 10 s schema
    # timeout measures fetching it, not a loaded machine building it.
    assert httpx.get(f"{url}/openapi.json", timeout=120).status_code == 200
    # One worker: on CPython 3.11, ast.parse in concurrent threads (Hypothesis describing lambdas) can
    # fail with "AST constructor recursion depth mismatch".
    cmd = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", CHECKS,
           "--max-examples", "4" if phases == SHALLOW else "2", "--phases", phases, "--seed", "7",
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
