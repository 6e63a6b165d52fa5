"""`provex witness` and `provex audit verify --witness` as real subprocesses: a witness with its own keystore follows
the CheckpointLog its trust file names, cosigns, alarms on a log that disagrees with its state, and verify of an
export reports who cosigned (a divergence with --require-witness when an expected witness did not)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlmodel import Session, SQLModel, create_engine, select

from ledger.anchor import Anchorer, AnchorPolicy
from ledger.contracts import Ledger
from ledger.deploy import DeployPlan, deploy_all
from ledger.keystore import Keystore
from ledger.records import LedgerRecord
from ledger.runtime import ChainRuntime
from ledger.trust import sign_trust, trust_from_chain
from ledger.verify import StoredRecord, export_log
from tests.ledger.conftest import append
from tests.utils.common import repo_root

PROVEX = str(Path(sys.executable).with_name("provex"))


def provex(env: dict[str, str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """Run `provex ARGS`; (exit code, the JSON lines it printed, or its one JSON document, stderr)."""
    out = subprocess.run([PROVEX, *args], env=env, capture_output=True, text=True, timeout=180)
    try:
        if out.stdout.strip().startswith("{\n"):
            return out.returncode, [json.loads(out.stdout)], out.stderr
        return out.returncode, [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")], out.stderr
    except ValueError:
        raise AssertionError(f"not JSON: {out.stdout[:3000]} {out.stderr[-3000:]}") from None


@pytest.fixture
def world(chain: ChainRuntime, deployer: LocalAccount, tmp_path: Path) -> dict[str, Any]:
    """A deployment of its own with 20 records anchored in 3 checkpoints, its signed trust file, an export,
    and a witness keystore on "another machine" (its own folder)."""
    assert chain.ledger is not None and chain.build is not None
    client = chain.ledger.client
    governance, recorder = Account.create(), Account.create()
    client.fund(deployer, recorder.address, 10**18)
    deployment = deploy_all(client, chain.build, deployer, DeployPlan(governance.address, recorder.address))
    ledger = Ledger(client, deployment, chain.build)
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    SQLModel.metadata.create_all(engine)
    append(engine, 20)
    Anchorer(engine, ledger, recorder, AnchorPolicy(batch_size=8)).drain()
    with Session(engine) as s:
        rows = [StoredRecord(r.seq, r.body) for r in s.exec(select(LedgerRecord).order_by(LedgerRecord.seq))]  # type: ignore[arg-type]
    export_log(rows, json.dumps(deployment.__dict__), tmp_path / "export")
    (tmp_path / "trust.json").write_text(sign_trust(trust_from_chain(ledger), governance).to_json())
    keystore = tmp_path / "witness-host" / "keystore"
    witness = Keystore(keystore, 1024).new("witness", "s3cret")
    client.fund(deployer, witness.address, 10**17)
    home = tmp_path / "home"
    (home / "build").mkdir(parents=True)
    for cached in chain.config.build_dir.glob("*.json"):  # the same sources: spare the subprocess a compile
        shutil.copy(cached, home / "build" / cached.name)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PROVEX_HOME": str(home), "PYTHONPATH": str(repo_root()),
           "PROVEX_KEYSTORE_PASSPHRASE": "s3cret"}
    return {"ledger": ledger, "env": env, "rpc": client.rpc_url, "keystore": keystore, "witness": witness.address,
            "tmp": tmp_path}


def test_a_witness_cosigns_alarms_and_verify_reports_it(world: dict[str, Any]) -> None:
    env, tmp, me = world["env"], world["tmp"], world["witness"]
    state = tmp / "witness-host" / "state.json"
    run = ["witness", "--rpc", world["rpc"], "--trust", str(tmp / "trust.json"), "--keystore",
           str(world["keystore"]), "--key", "witness", "--state", str(state), "--once"]
    code, lines, err = provex(env, *run)
    assert code == 0, (lines, err)
    assert lines[0]["witness"] == me and lines[0]["last_cosigned"]["index"] == -1
    assert [(x["cosigned"], x["tree_size"]) for x in lines[1:]] == [(0, 8), (1, 16), (2, 20)]
    code, again, _ = provex(env, *run)  # nothing new: nothing sent
    assert code == 0 and [x["last_cosigned"] for x in again] == [
        {"index": 2, "tree_size": 20, "root": lines[-1]["root"]}]

    stranger = Account.create().address
    verify = ["audit", "verify", "--from", str(tmp / "export"), "--rpc", world["rpc"], "--trust",
              str(tmp / "trust.json"), "--witness", me, "--witness", stranger, "--json"]
    code, [report], err = provex(env, *verify)
    assert code == 0 and report["ok"], (report, err)
    assert [(c["index"], c["cosigners"]) for c in report["witnesses"]] == [(0, [me]), (1, [me]), (2, [me])]
    assert f"checkpoint #0..#2 lack a cosignature from {stranger}" in report["notes"]
    code, [required], _ = provex(env, *verify, "--require-witness")
    assert code == 1 and required["divergence"]["kind"] == "witness_missing"
    assert stranger in required["divergence"]["detail"] and required["divergence"]["checkpoint"] == 0

    # the witness's memory says checkpoint #1 had another root: the log it is shown now was rewritten
    saved = json.loads(state.read_text())
    state.write_text(json.dumps({**saved, "index": 1, "tree_size": 16, "root": "ab" * 32}))
    code, lines, _ = provex(env, *run)
    assert code == 1 and lines[-1]["alarm"] == "inconsistent" and lines[-1]["cosigned"]["index"] == 1
    assert "checkpoint #1 now reads size 16" in lines[-1]["detail"]
    follow = subprocess.Popen([PROVEX, *run[:-1], "--interval", "0.2"], env=env, stdout=subprocess.PIPE, text=True)
    try:  # following, it keeps alarming at every pass and cosigns nothing
        assert follow.stdout is not None
        seen = [json.loads(follow.stdout.readline()) for _ in range(3)]
        assert [("alarm" in x) for x in seen] == [False, True, True] and seen[1] == seen[2]
    finally:
        follow.terminate()
    assert follow.wait(30) == 0  # SIGTERM ends it cleanly
