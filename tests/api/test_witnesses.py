"""Witnesses over HTTP: the auditor runs a witness with its own key against the exchange's CheckpointLog; the API's
checkpoints and verification report name it, and the auditor's portal page shows who cosigned each checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.runtime import ChainRuntime
from ledger.witness import Witness
from tests.api.test_portal_security import Browser
from tests.utils.server import Server


def test_checkpoints_and_verify_name_the_witnesses(server: Server, chain: ChainRuntime, deployer: LocalAccount,
                                                   tmp_path: Path) -> None:
    auditor = server.accounts["auditor"]
    assert chain.ledger is not None
    chain.ledger.client.fund(deployer, auditor.address, 10**17)  # the witness pays its own gas
    with server.client("auditor") as c:
        deadline = time.monotonic() + 60
        while not c.get("/audit/checkpoints").json():  # the onboarding records get anchored
            assert time.monotonic() < deadline, "no checkpoint anchored"
            time.sleep(0.3)
        cosigned = [x["cosigned"] for x in Witness(server.ledger, auditor, tmp_path / "state.json").run_once()]
        assert cosigned and cosigned == list(range(len(cosigned)))

        listed = c.get("/audit/checkpoints", params={"limit": 1000}).json()
        assert [x["index"] for x in listed] == sorted((x["index"] for x in listed), reverse=True)
        mine = {x["index"]: x for x in listed if x["index"] in cosigned}
        assert len(mine) == len(cosigned)
        assert all(x["cosigners"] == [{"id": server.ids["auditor"], "name": f"{server.backend} auditor",
                                       "role": "auditor", "address": auditor.address}] for x in mine.values())
        assert len(c.get("/audit/checkpoints", params={"limit": 1}).json()) == 1

        stranger = Account.create().address
        body = {"witnesses": [auditor.address, stranger]}
        report = c.post("/audit/verify", json=body).json()
        assert report["ok"], report
        assert {w["index"]: w["cosigners"] for w in report["witnesses"] if w["index"] in cosigned} == {
            i: [auditor.address] for i in cosigned}
        assert any(n.startswith("checkpoint #0") and n.endswith(f"a cosignature from {stranger}")
                   for n in report["notes"])
        required = c.post("/audit/verify", json={**body, "require_witness": True}).json()
        assert not required["ok"] and required["divergence"]["kind"] == "witness_missing"
        refused = c.post("/audit/verify", json={"witnesses": ["0x1234"]})
        assert refused.status_code == 422 and "witnesses" in refused.text

    with Browser(server) as b:
        b.sign_in(server.keys["auditor"])
        page = b.http.get("/portal/auditor")
        assert page.status_code == 200
        assert 'data-testid="checkpoints"' in page.text and f'title="{auditor.address}"' in page.text
        assert f"{server.backend} auditor" in page.text
        kept = b.http.post("/portal/auditor/report", json={"form": {"product": ""}, "response": required},
                           headers={"X-CSRF-Token": b.csrf, "Origin": server.url, "Accept": "text/html"})
        assert kept.status_code == 303, kept.text  # post/redirect/get: the report's own page
        drawn = b.http.get(kept.headers["location"])
        assert drawn.status_code == 200, drawn.text
        assert "witness_missing" in drawn.text and f"a cosignature from the expected witness {stranger}" in drawn.text
        witnessed = sum(1 for w in required["witnesses"] if w["cosigners"])
        assert f"{witnessed} / {len(required['witnesses'])}" in drawn.text
