"""Verification calls (核验) end to end: real provider nodes with signed policies, a real API on Anvil, a metered
license bought through trading. One bit per call, sealed to the buyer; one charge per call; rate limits; the
ledger record; a node's own policy; bad claims."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.client import ApiError, ProvexClient
from ledger.keystore import Keystore
from privacy.sealbox import sealed_size
from privacy.verify import OPS, SEALED_SIZE, Claim, ClaimError, new_reply_key, open_sealed, reply_key_hex
from privacy.verify_question import QUESTION_SIZE, SEALED_QUESTION_B64
from registry.verification_terms import ClaimOp
from tests.api.test_portal_security import Browser
from tests.portal.test_portal_signing import open_key
from tests.utils.browser import PASSPHRASE, browser, write_keystore
from tests.utils.builders import make_authorization, make_resource, product_body
from tests.utils.common import repo_root
from tests.utils.queries import QueryEnv
from tests.utils.verify import COLUMNS, metered_license, start_herd_nodes, verification_product

__all__ = ["browser"]  # the module's headless Chromium fixture

VERIFY = {"key": "herder_id", "per_minute": 8,
          "claims": [{"column": "head_count", "ops": [">=", "<=", "between", "within_pct"]},
                     {"column": "pasture_mu", "ops": [">="]}]}  # the nodes' policies do not allow pasture_mu


@pytest.fixture(scope="module")
def herds(qenv: QueryEnv, funded_buyer: None, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[str, Any]]:
    nodes = start_herd_nodes(qenv, tmp_path_factory.mktemp("verify-nodes"), 3)
    try:
        yield {"product": verification_product(qenv, nodes, VERIFY), "nodes": nodes}
    finally:
        for n in nodes.values():
            n.kill()
            qenv.nodes.pop(n.node_id, None)


def _buyer(qenv: QueryEnv) -> ProvexClient:
    s = qenv.server
    return ProvexClient(s.url, s.keys["buyer"], timeout=30, signer=s.accounts["buyer"])


def _exchange_holds(qenv: QueryEnv, secrets: tuple[str, ...]) -> list[str]:
    """Where the exchange stores any of `secrets`: every row of its database (ledger records included) and its log."""
    found = []
    engine = qenv.server.db()
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            text = repr(conn.execute(sa.text(f'SELECT * FROM "{table}"')).all())
            found += [f"{table}: {s}" for s in secrets if s in text]
    engine.dispose()
    logs = "".join(p.read_text(errors="replace") for p in qenv.server.home.glob("*.log"))
    return found + [f"log: {s}" for s in secrets if s in logs]


def _used(px: ProvexClient, license_id: str) -> tuple[int, list[bool]]:
    return px.license(license_id)["queries_used"], [c["refunded"] for c in px.charges(license_id)]


def test_claim_operators_are_the_protocols() -> None:
    assert set(ClaimOp.__args__) == set(OPS)  # type: ignore[attr-defined]


def test_a_call_releases_one_sealed_bit_and_is_charged_once(qenv: QueryEnv, herds: dict[str, Any]) -> None:
    lic = metered_license(qenv, herds["product"], 20)
    with _buyer(qenv) as px:
        yes = px.verify_claim(lic["id"], "H-1-7", "head_count >= 200")  # 140 + 100 head at node 1
        assert yes["match"] is True and yes["claim"] == "head_count >= 200"
        bodies = [s["body"] for s in yes["statements"]]
        assert sorted(b["node"] for b in bodies) == sorted(herds["nodes"])
        assert [b["match"] for b in bodies].count(True) == 1
        assert all(set(b) == {"type", "call", "node", "question", "match"} for b in bodies)  # nothing else inside
        assert px.verify_claim(lic["id"], "H-1-7", "head_count between 100 and 239")["match"] is False
        assert px.verify_claim(lic["id"], "H-2-10", "head_count within 6% of 190")["match"] is True  # 200 head
        assert px.verify_claim(lic["id"], "H-2-10", "head_count within 5% of 190")["match"] is False  # 10 > 9.5
        no_key = px.verify_claim(lic["id"], "H-9-9", "head_count <= 5000")  # nobody holds it: as a false claim
        assert no_key["match"] is False and all(s["body"]["match"] is False for s in no_key["statements"])
        assert _used(px, lic["id"]) == (5, [False] * 5)
        # the raw call: the exchange sees no key and no value, only equal-size ciphertexts both ways
        secret = new_reply_key()
        claim = Claim.parse("head_count", "<=", ["4321.5"])  # '-' and '.' are not base64: a leak would show
        question, sealed, _ = px.sealed_question(lic["id"], "H-0-3", claim, reply_key_hex(secret))
        args = (lic["id"], {"column": "head_count", "op": "<="}, question.hash, reply_key_hex(secret), sealed)
        body = json.dumps(args)
        assert "H-0-3" not in body and "4321.5" not in body
        assert {len(base64.b64decode(s)) for s in sealed.values()} == {sealed_size(QUESTION_SIZE)}
        first = px.verification_call(*args, idempotency_key="v-retry-1")
        again = px.verification_call(*args, idempotency_key="v-retry-1")
        assert again == first and _used(px, lic["id"]) == (6, [False] * 6)  # a retry is never charged twice
        assert len(first["sealed"]) == 3 and {len(base64.b64decode(s)) for s in first["sealed"]} == {SEALED_SIZE}
        assert "H-0-3" not in json.dumps(first) and "match" not in json.dumps(first)
        opened = [open_sealed(s, secret, first["call_id"]) for s in first["sealed"]]
        assert [d["body"]["match"] for d in opened].count(True) == 1
        assert first["charge_id"] == first["call_id"] and first["unit_price_fen"] == 50 and first["queries_left"] == 14
        assert not _exchange_holds(qenv, ("H-0-3", "4321.5"))  # its database rows, ledger records and logs
        history = px.verifications(lic["id"])
    assert [h["status"] for h in history] == ["done"] * 6 and history[0]["bundle_hash"] == first["bundle_hash"]
    assert (history[0]["claim_column"], history[0]["claim_op"]) == ("head_count", "<=")


def test_each_call_is_a_signed_ledger_record(qenv: QueryEnv, herds: dict[str, Any]) -> None:
    lic = metered_license(qenv, herds["product"], 2)
    with _buyer(qenv) as px:
        out = px.verify_claim(lic["id"], "H-0-5", "head_count >= 100")
        record = px.record(out["receipt"]["seq"])["record"]
    assert record["kind"] == "verification.call" and record["subject"] == herds["product"]["id"]
    data = record["data"]
    assert record["actor"] == qenv.server.ids["buyer"] and record["authorization"] == lic["id"]
    assert (data["call_id"], data["charge_id"], data["bundle_hash"]) == (out["call_id"], out["charge_id"],
                                                                         out["bundle_hash"])
    assert data["answers"] == 3 and data["unit_price_fen"] == 50 and data["signed"]  # the buyer's own request
    assert "H-0-5" not in json.dumps(record)
    with Browser(qenv.server) as b:  # the buyer's licenses page lists the call (the CLI makes and opens calls)
        b.sign_in(qenv.server.keys["buyer"])
        page = b.http.get("/portal/buyer/licenses?lang=en").text
    section = page.split(f'id="license-{lic["id"]}"')[1].split("</section>")[0]
    assert "Verification calls" in section and f"provex verify --license {lic['id']}" in section
    assert out["bundle_hash"][:16] in section and f"#{out['receipt']['seq']}" in section and "answered" in section


def test_a_node_refuses_a_column_its_policy_does_not_allow_and_the_call_is_refunded(
        qenv: QueryEnv, herds: dict[str, Any]) -> None:
    lic = metered_license(qenv, herds["product"], 3)
    with _buyer(qenv) as px:
        with pytest.raises(ApiError) as e:
            px.verify_claim(lic["id"], "H-0-5", "pasture_mu >= 100")
        assert e.value.status == 409 and e.value.code == "provider_policy_refused", e.value.body
        assert "column_use" in e.value.detail and "pasture_mu" in e.value.detail
        assert _used(px, lic["id"]) == (0, [True])  # charged, then refunded
        # an exchange relaying a question under other terms than those sealed in it: every node refuses
        reply = reply_key_hex(new_reply_key())
        question, sealed, _ = px.sealed_question(lic["id"], "H-0-5", Claim.parse("head_count", "<=", [9]), reply)
        with pytest.raises(ApiError) as e:
            px.verification_call(lic["id"], {"column": "head_count", "op": ">="}, question.hash, reply, sealed)
        assert e.value.status == 502 and "does not match the request" in e.value.detail, e.value.body
        assert _used(px, lic["id"]) == (0, [True, True])
        assert [h["status"] for h in px.verifications(lic["id"])] == ["failed", "failed"]


def test_past_the_rate_limit_a_call_is_refused_naming_it(qenv: QueryEnv, herds: dict[str, Any]) -> None:
    lic = metered_license(qenv, herds["product"], 10)
    with _buyer(qenv) as px:
        for _ in range(8):
            px.verify_claim(lic["id"], "H-0-1", "head_count >= 1")
        reply = reply_key_hex(new_reply_key())
        question, sealed, _ = px.sealed_question(lic["id"], "H-0-1", Claim.parse("head_count", ">=", [1]), reply)
    with qenv.server.client("buyer") as buyer:
        r = buyer.post("/verifications", json={"license_id": lic["id"], "claim": {"column": "head_count", "op": ">="},
                                               "question_hash": question.hash, "reply_key": reply, "sealed": sealed})
    body = r.json()
    assert r.status_code == 429 and (body["error"], body["limit"], body["allowed"]) == ("rate_limited", "per_minute", 8)
    assert 1 <= body["retry_after"] <= 60 and r.headers["Retry-After"] == str(body["retry_after"])
    with _buyer(qenv) as px:
        assert _used(px, lic["id"]) == (8, [False] * 8)  # the refused call is not charged


def test_a_bad_claim_is_a_422_naming_it(qenv: QueryEnv, herds: dict[str, Any]) -> None:
    lic = metered_license(qenv, herds["product"], 1)
    reply = reply_key_hex(new_reply_key())
    with qenv.server.client("buyer") as buyer:
        def post(claim: dict[str, Any], reply_key: str = reply, sealed: Any = None) -> Any:
            return buyer.post("/verifications", json={
                "license_id": lic["id"], "claim": claim, "question_hash": "0" * 64, "reply_key": reply_key,
                "sealed": sealed or {n: "A" * SEALED_QUESTION_B64 for n in herds["nodes"]}})
        r = post({"column": "head_count", "op": ">="}, "00" * 32)
        assert r.status_code == 422 and r.json()["field"] == "reply_key", r.text  # a low-order point
        for claim, field, word in [({"column": "head_count", "op": "~="}, "claim.op", "~="),
                                   ({"column": "head_count", "op": "="}, "claim.op", "'='"),
                                   ({"column": "banner", "op": ">="}, "claim.column", "banner")]:
            r = post(claim)
            assert r.status_code == 422 and r.json()["field"] == field and word in r.json()["detail"], r.text
        r = post({"column": "head_count", "op": ">="}, sealed={"herds-0": "A" * SEALED_QUESTION_B64})
        assert r.status_code == 422 and r.json()["field"] == "sealed" and "herds-1" in r.json()["detail"], r.text
        r = post({"column": "head_count", "op": "between", "key": "H-0-1", "values": [3]})  # no key, no values
        assert r.status_code == 422, r.text
    with pytest.raises(ClaimError) as e:  # the values are sealed: the buyer's client checks them, then each node
        Claim.parse("head_count", "between", [3])
    assert e.value.field == "claim.values"
    with _buyer(qenv) as px:
        assert _used(px, lic["id"]) == (0, [])
    authz = make_authorization(qenv.server, [make_resource(qenv.server)["id"]])
    with qenv.server.client("operator") as op:  # the terms are checked at registration
        r = op.post("/products", json=product_body(authz, columns=COLUMNS, sample=[], verification={
            "key": "head_count_x", "claims": [{"column": "head_count", "ops": [">="]}]}))
        assert r.status_code == 422 and r.json()["field"] == "verification.key", r.text
        r = op.post("/products", json=product_body(authz, columns=COLUMNS, sample=[], verification={
            "key": "herder_id", "claims": [{"column": "banner", "ops": [">="]}]}))
        assert r.status_code == 422 and r.json()["field"] == "verification.claims[0].column", r.text


def test_the_portal_makes_and_opens_a_call_in_the_browser(qenv: QueryEnv, herds: dict[str, Any], browser: Any,
                                                          tmp_path: Path) -> None:
    """Headless Chromium: the reply key is generated, the answers opened and the node signatures checked in the
    tab (WebCrypto X25519, HKDF, AES-GCM, Ed25519); the request is the buyer's own signed act."""
    lic = metered_license(qenv, herds["product"], 2)
    url = qenv.server.url
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{url}/portal/signin?lang=en")
        page.fill("input[name=api_key]", qenv.server.keys["buyer"])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        open_key(page, url, write_keystore(tmp_path, qenv.server.accounts["buyer"]), PASSPHRASE)
        page.goto(f"{url}/portal/buyer/licenses?lang=en")
        form = f"#verify-{lic['id']}"
        for value, expected in (("200.0", "true"), ("241", "false")):  # H-1-7 holds 140 + 100 head
            page.fill(f"{form} input[name=key]", "H-1-7")
            page.select_option(f"{form} select[name=op]", ">=")
            page.fill(f"{form} input[name=value]", value)
            page.click(f"{form} button[type=submit]")
            result = page.wait_for_selector(f"{form} [data-testid=verify-result][data-match='{expected}']",
                                            timeout=60_000)
            assert result is not None and "3 node signatures checked" in result.inner_text()
            page.evaluate(f"document.querySelector('{form} [data-testid=verify-result]').removeAttribute('data-match')")
    finally:
        ctx.close()
    with _buyer(qenv) as px:
        assert _used(px, lic["id"]) == (2, [False, False])


def test_the_cli_makes_and_opens_a_call(qenv: QueryEnv, herds: dict[str, Any], tmp_path: Path) -> None:
    """`provex verify` with the buyer's own key from its keystore: the bit, the checked statements, the receipt."""
    lic = metered_license(qenv, herds["product"], 1)
    Keystore(tmp_path / "keys", 2**10).import_key("buyer", qenv.server.accounts["buyer"].key.hex(), "pw")
    env = {**os.environ, "PYTHONPATH": str(repo_root()), "PROVEX_API_KEY": qenv.server.keys["buyer"],
           "PROVEX_SIGNER": "buyer", "PROVEX_KEYSTORE": str(tmp_path / "keys"), "PROVEX_KEYSTORE_PASSPHRASE": "pw",
           "PROVEX_KEYSTORE_SCRYPT_N": str(2**10), "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "api.cli", "verify", "--license", lic["id"], "--key", "H-1-7",
                          "--claim", "head_count between 240 and 240", "--api", qenv.server.url, "--json"],
                         env=env, capture_output=True, text=True, timeout=120, cwd=repo_root())
    assert out.returncode == 0, out.stderr + out.stdout
    body = json.loads(out.stdout)
    assert body["match"] is True and body["claim"] == "head_count between 240 and 240" and body["queries_left"] == 0
    assert len(body["statements"]) == 3 and body["receipt"]["url"] == f"/ledger/records/{body['receipt']['seq']}"
