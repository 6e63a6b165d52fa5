"""The `provex` CLI against the live demo: products, query, audit trace / verify / export / verify --from, chain
status, and the auditor's witness cosigning while the demo runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from api.client import ProvexClient
from api.demo.keys import DEMO_PASSPHRASE
from ledger.anvil import free_port
from tests.utils.common import repo_root
from tests.utils.demo import PROVEX, LiveDemo, processes_of


def provex(live: LiveDemo, *args: str, who: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(live.run.env, PROVEX_API_URL=live.url)
    if who:  # the participant's API key and its own key, from the demo's keystore of that participant
        env.update(PROVEX_API_KEY=live.key(who), PROVEX_SIGNER=who, PROVEX_KEYSTORE_PASSPHRASE=DEMO_PASSPHRASE,
                   PROVEX_KEYSTORE=str(live.run.home / "demo" / "keystore"))
    out = subprocess.run([PROVEX, *args], env=env, cwd=repo_root(), capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def as_json(out: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(out.stdout)


def anvil_rpc(home: Path) -> str:
    for pid in processes_of(home):
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if any(b"anvil" in part for part in cmd[:1]):
            return f"http://127.0.0.1:{cmd[cmd.index(b'--port') + 1].decode()}"
    raise AssertionError("no anvil process for the demo")


def test_products_and_query(live_demo: LiveDemo) -> None:
    items = as_json(provex(live_demo, "products", "list", "--q", "耳标 月度", "--json", who="buyer"))
    assert [p["code"] for p in items] == [live_demo.run.state["ids"]["code_livestock"]]
    table = provex(live_demo, "products", "show", items[0]["code"], who="buyer").stdout
    assert "one_off" in table and "¥2,000.00" in table
    sql = "SELECT COUNT(*) FROM data GROUP BY species"
    priced = provex(live_demo, "query", sql, "--epsilon", "0.05", "--preview", who="buyer").stdout
    assert "cost: ε 0.04" in priced and "nothing spent" in priced and "count_star" in priced, priced
    out = as_json(provex(live_demo, "query", sql, "--epsilon", "0.05", "--json", who="buyer"))
    assert len(out["groups"]) == 5 and out["providers"] >= 1
    refused = provex(live_demo, "query", "SELECT * FROM data", who="buyer", check=False)
    assert refused.returncode == 1 and "row selection is not allowed" in refused.stdout, refused.stdout


def test_notices_and_revisions(live_demo: LiveDemo) -> None:
    """The story's product went through its notice (now over) and a published revision."""
    code = live_demo.run.state["ids"]["code_livestock"]
    assert as_json(provex(live_demo, "notices", "list", "--json")) == []  # public: no key
    revs = as_json(provex(live_demo, "revisions", "list", code, "--json", who="operator_xlg"))
    assert [(r["status"], r["base_version"]) for r in revs] == [("published", 1)]
    assert [r["kind"] for r in revs] == ["change"]
    assert as_json(provex(live_demo, "revisions", "list", code, "--kind", "cancellation", "--json",
                          who="operator_xlg")) == []
    refused = provex(live_demo, "revisions", "cancel", code, "--reasons", "not mine", who="buyer", check=False)
    assert refused.returncode == 1 and "requires role operator" in refused.stdout, refused.stdout
    late = provex(live_demo, "notices", "object", code, "--reasons", "too late", who="buyer", check=False)
    assert late.returncode == 1 and "not in its public notice" in late.stdout, late.stdout


def test_voucher_programmes(live_demo: LiveDemo) -> None:
    state = live_demo.run.state
    demo_programme = state["ids"]["voucher_programme"]
    rows = as_json(provex(live_demo, "vouchers", "programmes", "--json", who="authority"))
    seen = next(g for g in rows if g["id"] == demo_programme)
    assert (seen["annual_budget_fen"], seen["redeemed_fen"]) == (5_000_000_000, 150_000)
    buyer = state["accounts"]["buyer"]["id"]
    made = as_json(provex(live_demo, "vouchers", "programme-create", "--name", "cli", "--budget-fen", "100",
                          "--max-share-bps", "5000", "--holder", buyer, "--json", who="authority"))[0]
    assert made["chain"]["state"] == "confirmed" and made["remaining_fen"] == 100
    refused = provex(live_demo, "vouchers", "issue", "--programme", made["id"], "--holder", buyer, "--amount-fen",
                     "101", who="authority", check=False)
    assert refused.returncode == 1 and "409 ProgrammeBudgetExceeded" in refused.stdout, refused.stdout


def test_the_demos_annual_report_is_recomputed_by_the_auditor(live_demo: LiveDemo) -> None:
    """The operator's published report, recomputed from the database's verified log and the chain, matches; its
    sale above the maximum allowed revenue shows as the excess carried into next year."""
    state = live_demo.run.state
    published = ProvexClient(live_demo.url).report(state["ids"]["report"])
    year, operator = published["year"], state["accounts"]["operator_xlg"]["id"]
    out = as_json(provex(live_demo, "audit", "report", "--year", str(year), "--operator", operator, "--json"))
    assert out["ok"] is True, out
    revenue = published["operating"]["revenue"]
    assert revenue["excess_fen"] == 50_000 and revenue["allowed_fen"] == 150_000, revenue
    assert "80000" in json.dumps(published["operating"]["costs"]), published["operating"]["costs"]  # the ¥800 cost


def test_audit_trace_verify_export(live_demo: LiveDemo, tmp_path: Path) -> None:
    code = live_demo.run.state["ids"]["code_livestock"]
    trace = as_json(provex(live_demo, "audit", "trace", code, "--json", who="auditor"))
    assert trace["product"]["code"] == code and len(trace["steps"]) > 10
    assert "LicensePurchased" in provex(live_demo, "audit", "trace", code, who="auditor").stdout
    report = as_json(provex(live_demo, "audit", "verify", "--json", who="auditor"))
    assert report["ok"] is True
    folder = tmp_path / "export"
    exported = as_json(provex(live_demo, "audit", "export", str(folder), "--json"))
    assert exported["records"] >= report["records"] - 5
    rpc = anvil_rpc(live_demo.run.home)
    offline = as_json(provex(live_demo, "audit", "verify", "--from", str(folder), "--rpc", rpc, "--json"))
    assert offline["ok"] is True and offline["checkpoints"] >= 1
    lines = (folder / "records.jsonl").read_text().splitlines()
    edited = lines[3].replace('"kind":"', '"kind":"x', 1)
    assert edited != lines[3]
    (folder / "records.jsonl").write_text("\n".join([*lines[:3], edited, *lines[4:]]) + "\n")
    bad = provex(live_demo, "audit", "verify", "--from", str(folder), "--rpc", rpc, check=False)
    assert bad.returncode == 1
    assert re.search(r"DIVERGENCE", bad.stdout), bad.stdout
    assert os.path.exists(folder / "deployment.json")


def test_chain_status_and_the_auditors_witness(live_demo: LiveDemo, tmp_path: Path) -> None:
    home = live_demo.run.home
    status = as_json(provex(live_demo, "chain", "status", "--json"))
    rpc = anvil_rpc(home)
    assert status["running"] is True and status["rpc_url"] == rpc and all(status["code_present"].values())
    assert f"running at {rpc}" in provex(live_demo, "chain", "status").stdout
    auditor = live_demo.run.state["accounts"]["auditor"]["address"].lower()
    deadline = time.monotonic() + 30
    with ProvexClient(live_demo.url, live_demo.key("auditor")) as c:
        while True:
            checkpoints = c.checkpoints()
            cosigned = [cp["index"] for cp in checkpoints if auditor in {w["address"].lower() for w in cp["cosigners"]}]
            if cosigned or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert cosigned, checkpoints
    # the command the demo printed works as written (with the export where it says)
    printed = next(line.strip() for line in live_demo.startup if "provex audit verify --from" in line)
    assert f"--rpc {rpc} --trust {home / 'demo' / 'trust.json'} --witness " in printed
    assert printed.split("--witness ")[1].lower() == auditor
    provex(live_demo, "audit", "export", str(tmp_path / "audit"))
    args = printed.split()[1:]
    args[args.index("./audit")] = str(tmp_path / "audit")
    report = as_json(provex(live_demo, *args, "--json"))
    assert report["ok"] is True, report
    assert any(auditor in {w.lower() for w in cp["cosigners"]} for cp in report["witnesses"]), report["witnesses"]
    # database mode held to the trust file: the exchange's own deployment.json is only a hint
    report = as_json(provex(live_demo, "audit", "verify", "--rpc", rpc, "--trust", str(home / "demo" / "trust.json"),
                            "--json"))
    assert report["ok"] is True and any("trust file signed by" in n for n in report["notes"]), report


def test_the_cli_finds_the_demos_api_by_itself(live_demo: LiveDemo) -> None:
    """No --api, no PROVEX_API_URL: the demo's `<home>/demo/api.json`, on whatever port it got."""
    env = dict(live_demo.run.env, PROVEX_API_KEY=live_demo.key("buyer"))
    out = subprocess.run([PROVEX, "products", "list", "--json"], env=env, cwd=repo_root(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert live_demo.run.state["ids"]["code_livestock"] in {p["code"] for p in json.loads(out.stdout)}


def test_an_unreachable_api_chain_or_database_is_one_line(live_demo: LiveDemo, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    folder, trust = tmp_path / "audit", live_demo.run.home / "demo" / "trust.json"
    provex(live_demo, "audit", "export", str(folder))
    cases = [("products", "list", "--api", dead), ("audit", "verify", "--rpc", dead),
             ("audit", "verify", "--from", str(folder), "--rpc", dead, "--trust", str(trust)),
             ("audit", "trust", "check", str(trust), "--rpc", dead)]
    for args in cases:
        out = provex(live_demo, *args, check=False)
        text = out.stdout + out.stderr
        lines = [line for line in text.splitlines() if line.strip()]
        assert out.returncode == 3 and len(lines) == 1 and "Traceback" not in text, (args, text)
        assert dead.removeprefix("http://") in lines[0], (args, text)
    empty = dict(live_demo.run.env, PROVEX_HOME=str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    shutil.copy(live_demo.run.home / "deployment.json", tmp_path / "empty")
    out = subprocess.run([PROVEX, "audit", "export", str(tmp_path / "x")], env=empty, cwd=repo_root(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3 and "the database cannot be read" in out.stderr, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_model_verification_and_the_privacy_unit_from_the_cli(live_demo: LiveDemo) -> None:
    """The bank reads its licensed model and makes a verification call; an operator reads and changes a product's
    privacy unit bounds (signed with its own key)."""
    ids = live_demo.run.state["ids"]
    model = provex(live_demo, "model", "show", ids["license_model"], who="bank").stdout
    assert "health_alerts" in model and "(intercept)" in model, model
    verdict = provex(live_demo, "verify", "--license", ids["license_verify"], "--key", "XL01-0001", "--claim",
                     "head_count >= 300", who="bank").stdout
    assert "→ match" in verdict, verdict
    shown = provex(live_demo, "products", "policy", ids["code_electricity"], who="operator_hhht").stdout
    assert "feeder" in shown, shown
    out = as_json(provex(live_demo, "products", "policy", ids["code_electricity"], "--max-rows-per-id", "4", "--json",
                         who="operator_hhht"))
    assert out["max_rows_per_id"] == 4 and out["privacy_unit"]["column"] == "feeder"
