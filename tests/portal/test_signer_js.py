"""The portal's signer (api/portal/static/signer.js) in Chromium, no server: what it signs holds under the
exchange's own checks (ledger.statements, ledger.forwarder: eth_account recovers the wallet's address), and
forms become the API's JSON bodies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.forwarder import ForwarderDomain, ForwardRequest, SignedRequest, recover_signer, sign_request
from ledger.statements import (
    TYPES,
    RequestStatement,
    StatementDomain,
    StatementError,
    body_hash,
    check_fresh,
    verify,
)
from tests.utils.browser import ETHERS_JS, SIGNER_JS

ORIGIN = "http://provex.test"
DOMAIN = StatementDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
FORM = """<!doctype html><html><head><meta name="provex-csrf" content="t">
<script src="/ethers.js"></script><script src="/signer.js"></script></head><body><main>
<form id="f" data-api-path="/vouchers"><input type="hidden" name="csrf_token" value="x" data-json="skip">
<select name="holder_id"><option value="acct-1" selected>b</option></select>
<input name="amount_yuan" value="12.34" data-json="fen" data-key="amount_fen">
<input name="days" value="2" data-json="days" data-key="expires_at">
<input type="date" name="ends_on" value="2027-03-01" data-json="date">
<input name="sectors" value=" agriculture, energy ,," data-json="list">
<input name="epsilon" value="" data-json="number" data-optional>
<textarea name="changes" data-json="object">{"title": "t"}</textarea>
<input type="checkbox" name="lawful_source" data-group="checklist" checked>
<input type="checkbox" name="sample_synthetic" data-group="checklist">
<input type="radio" name="decision" value="approve"><input type="radio" name="decision" value="reject" checked>
<textarea name="reasons">多行
理由</textarea><button name="action" value="go">go</button></form>
<form id="nested" data-api-path="/products/p/offers">
<select name="kind" data-path="kind"><option>one_off</option></select>
<input name="t0q" value="1" data-path="tiers[0].min_quantity" data-json="number" data-optional>
<input name="t0p" value="8" data-path="tiers[0].unit_price_fen" data-json="fen" data-optional>
<input name="t1q" value="" data-path="tiers[1].min_quantity" data-json="number" data-optional>
<input name="t1p" value="" data-path="tiers[1].unit_price_fen" data-json="fen" data-optional>
<input name="op" value="9000" data-path="split.operator" data-json="number">
<input name="c0" value="banner" data-path="columns[0].name" data-optional>
<input type="checkbox" name="g0" data-path="columns[0].group_by" data-optional checked>
<input name="d0" value="a, b" data-path="columns[0].domain" data-json="list" data-optional>
<input name="c1" value="" data-path="columns[1].name" data-optional>
<input type="checkbox" name="g1" data-path="columns[1].group_by" data-optional>
<select name="qk" data-path="terms.query_kinds" multiple><option selected>count</option><option>sum</option></select>
</form></main></body></html>"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page on a made-up origin (sessionStorage needs one) with ethers and the signer loaded."""
    ctx = browser.new_context()
    files = {"/ethers.js": ETHERS_JS.read_bytes(), "/signer.js": SIGNER_JS.read_bytes()}

    def serve(route: Any) -> None:
        path = route.request.url[len(ORIGIN):]
        if path in files:
            route.fulfill(status=200, body=files[path], content_type="text/javascript")
        else:
            route.fulfill(status=200, body=FORM.encode(), content_type="text/html; charset=utf-8")

    ctx.route(f"{ORIGIN}/**", serve)
    p = ctx.new_page()
    p.goto(f"{ORIGIN}/")
    assert p.evaluate("typeof window.ProvexSigner") == "object"
    yield p
    ctx.close()


def test_a_statement_signed_in_the_browser_holds_for_the_exchange(page: Any) -> None:
    """Signed in Chromium (types and domain as `GET /signing` gives them), checked by the exchange's own code."""
    acct: LocalAccount = Account.create()
    body = json.dumps({"reason": "撤销: ünïcode"}, ensure_ascii=False, separators=(",", ":"))
    path = "/authorizations/PXA-2025-0001/revoke"
    headers = page.evaluate("""async ([key, domain, types, path, body]) => {
        const w = new ethers.Wallet(key);
        return await ProvexSigner.signStatement(w, domain, types, "post", path, body);
    }""", [acct.key.to_0x_hex(), DOMAIN.as_dict(), TYPES, path, body])
    assert headers["Provex-Signer"] == acct.address
    assert len(headers["Provex-Nonce"]) == 66 and len(headers["Provex-Signature"]) == 132
    statement = RequestStatement(acct.address, "POST", path, body_hash(body.encode()), headers["Provex-Nonce"],
                                 int(headers["Provex-Deadline"]))
    verify(DOMAIN, statement, headers["Provex-Signature"], acct.address)
    check_fresh(statement.deadline, int(time.time()))
    for changed in (replace(statement, path="/authorizations/PXA-2025-0002/revoke"),
                    replace(statement, body_hash=body_hash(b"{}")), replace(statement, method="PUT")):
        with pytest.raises(StatementError):  # path, body and method are all part of what is signed
            verify(DOMAIN, changed, headers["Provex-Signature"], acct.address)


def test_a_forward_request_signed_in_the_browser_recovers_to_the_wallet(page: Any) -> None:
    acct: LocalAccount = Account.create()
    forwarder = ForwarderDomain("ProvexForwarder", "1", 31337, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
    request = ForwardRequest(acct.address, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", 0, 123456, 3, 1796000000,
                             bytes.fromhex("deadbeef"))
    typed = json.loads(json.dumps(request.typed_data(forwarder), default=lambda b: "0x" + b.hex()))
    sign_js = """async ([key, typed, domain]) => {
        try { return await ProvexSigner.signForward(new ethers.Wallet(key), typed, domain); }
        catch (e) { return e.message; } }"""
    entry = page.evaluate(sign_js, [acct.key.to_0x_hex(), typed, forwarder.as_dict()])
    assert {k: entry[k] for k in ("nonce", "deadline", "gas")} == {"nonce": 3, "deadline": 1796000000, "gas": 123456}
    signed = SignedRequest(request, bytes.fromhex(entry["signature"][2:]))
    assert recover_signer(signed, forwarder) == acct.address  # the relayer's own check
    assert entry["signature"] == "0x" + sign_request(acct, request, forwarder).signature.hex()  # deterministic
    someone_else = {**typed, "message": {**typed["message"], "from": Account.create().address}}
    assert "another address" in page.evaluate(sign_js, [acct.key.to_0x_hex(), someone_else, forwarder.as_dict()])
    elsewhere = {**forwarder.as_dict(), "verifyingContract": "0x" + "11" * 20}
    assert "another forwarder" in page.evaluate(sign_js, [acct.key.to_0x_hex(), typed, elsewhere])


def test_forms_become_the_api_bodies(page: Any) -> None:
    body = page.evaluate("ProvexSigner.formBody(document.getElementById('f'))")
    expires = body.pop("expires_at")
    assert body == {"holder_id": "acct-1", "amount_fen": 1234, "sectors": ["agriculture", "energy"],
                    "checklist": {"lawful_source": True, "sample_synthetic": False}, "decision": "reject",
                    "reasons": "多行\n理由", "changes": {"title": "t"}, "ends_on": "2027-03-01T00:00:00Z"}
    assert expires.endswith("Z") and len(expires) == 24
    page.fill("input[name=amount_yuan]", "twelve")
    failure = page.evaluate("""() => { try { ProvexSigner.formBody(document.getElementById('f')); }
                                       catch (e) { return [e.field, e.message]; } }""")
    assert failure == ["amount_fen", "not a number"]
    page.fill("input[name=amount_yuan]", "1")
    page.fill("textarea[name=changes]", "[1]")
    failure = page.evaluate("""() => { try { ProvexSigner.formBody(document.getElementById('f')); }
                                       catch (e) { return [e.field, e.message]; } }""")
    assert failure == ["changes", "not a JSON object"]


def test_field_paths_build_nested_bodies_without_empty_rows(page: Any) -> None:
    body = page.evaluate("ProvexSigner.formBody(document.getElementById('nested'))")
    assert body == {"kind": "one_off", "tiers": [{"min_quantity": 1, "unit_price_fen": 800}],
                    "split": {"operator": 9000},
                    "columns": [{"name": "banner", "group_by": True, "domain": ["a", "b"]}],
                    "terms": {"query_kinds": ["count"]}}
    page.fill("input[name=t1p]", "x")
    failure = page.evaluate("""() => { try { ProvexSigner.formBody(document.getElementById('nested')); }
                                       catch (e) { return [e.field, e.message]; } }""")
    assert failure == ["tiers[1].unit_price_fen", "not a number"]


def test_the_key_stays_in_session_storage_until_forgotten(page: Any) -> None:
    acct: LocalAccount = Account.create()
    address = page.evaluate("""(key) => { ProvexSigner.keepWallet(new ethers.Wallet(key));
                                          return ProvexSigner.currentWallet().address; }""", acct.key.to_0x_hex())
    assert address == acct.address
    assert page.evaluate("Object.keys(sessionStorage)") == ["provex.key"]
    assert page.evaluate("localStorage.length") == 0
    page.evaluate("ProvexSigner.forgetWallet()")
    assert page.evaluate("ProvexSigner.currentWallet()") is None
