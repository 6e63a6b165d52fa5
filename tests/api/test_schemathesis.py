"""Schemathesis against the live OpenAPI schema, every operation, as every role and with no key.

Bounded for CI: a few examples per operation. Checks: no server error, responses match the schema,
and no 2xx (and the right 401/403) for a role outside the operation's `x-roles`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import Server

ROLES = ["none", "authority", "operator", "provider", "exchange", "buyer", "auditor"]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = "tests.api.schemathesis_hooks"
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,role_enforced"


@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation(server: Server, role: str, tmp_path: Path) -> None:
    if server.backend != "sqlite" and role not in ("none", "buyer", "operator"):
        pytest.skip("the full role sweep runs once, on SQLite; PostgreSQL gets three roles")
    cmd = [str(SCHEMATHESIS), "run", f"{server.url}/openapi.json", "--checks", CHECKS,
           "--max-examples", "4", "--phases", "examples,coverage,fuzzing", "--seed", "7",
           "--generation-deterministic", "--no-color", "--workers", "2",
           "--request-timeout", "20", "--exclude-path", "/dev/mint",
           "--report", "junit", "--report-dir", str(tmp_path)]
    if role != "none":
        cmd += ["-H", f"Authorization: Bearer {server.keys[role]}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PROVEX_FUZZ_ROLE": role,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
