"""`provex provider policy init|sign|show` and `provex provider serve` with the signed policy, as a provider
would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.utils.common import repo_root
from tests.utils.queries import COLUMNS, write_data


def provex(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(repo_root()), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=repo_root(), env=env, capture_output=True,
                          text=True, timeout=120)
    assert not check or proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_init_sign_show_and_serve(tmp_path: Path) -> None:
    (tmp_path / "columns.json").write_text(json.dumps(COLUMNS))
    keys, draft = tmp_path / "keys", tmp_path / "draft.json"
    provex("provider", "policy", "init", "--columns", str(tmp_path / "columns.json"), "--id", "n1",
           "--dataset", "people", "--out", str(draft), "--min-group-size", "7", "--daily-limit", "50")
    body = json.loads(draft.read_text())
    uses = {c["name"]: c["uses"] for c in body["columns"]}
    assert uses == {"region": ["group_by", "filter"], "level": ["group_by", "filter"],
                    "age": ["aggregate", "filter"], "income": ["aggregate", "filter"]}
    assert body["min_group_size"] == 7 and body["daily_query_limit"] == 50 and body["max_rho_per_query"] > 0
    signed = provex("provider", "policy", "sign", str(draft), "--id", "n1", "--key-dir", str(keys)).stdout
    policy_hash = signed.split("policy hash: ")[1].split()[0]
    shown = provex("provider", "policy", "show", str(keys / "policy.json"), "--id", "n1", "--key-dir", str(keys))
    assert policy_hash in shown.stdout and "aggregate, filter" in shown.stdout
    assert provex("provider", "policy", "sign", str(draft), "--id", "n2", "--key-dir", str(keys),
                  check=False).returncode == 2  # a policy for another node
    node = subprocess.Popen([sys.executable, "-m", "api.cli", "provider", "serve", "--data",
                             str(write_data(tmp_path / "d.csv", 20, seed=1)), "--id", "n1", "--port", "0",
                             "--key-dir", str(keys), "--coordinator-key", "ab" * 32],
                            cwd=repo_root(), env={**os.environ, "PYTHONPATH": str(repo_root())},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert node.stdout is not None
        assert json.loads(node.stdout.readline())["policy_hash"] == policy_hash  # loaded from the key dir
    finally:
        node.kill()
        node.wait(10)
    doc = json.loads((keys / "policy.json").read_text())
    doc["body"]["daily_query_limit"] = None
    (keys / "policy.json").write_text(json.dumps(doc))
    tampered = provex("provider", "policy", "show", str(keys / "policy.json"), "--id", "n1", "--key-dir", str(keys),
                      check=False)
    assert tampered.returncode == 2 and "policy signature invalid" in tampered.stdout
