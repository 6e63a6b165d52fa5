"""The portal's signer (api/portal/static/signer.js) in Chromium, no server: what it signs recovers in Python
(eth_account) to the wallet's address, and forms become the API's JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.utils.browser import ETHERS_JS, SIGNER_JS

ORIGIN = "http://provex.test"
DOMAIN_TYPE = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
               {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]
STATEMENT_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "ProvexBinding": [{"name": "account", "type": "address"}, {"name": "role", "type": "string"},
                      {"name": "name", "type": "string"}, {"name": "nonce", "type": "bytes32"},
                      {"name": "deadline", "type": "uint256"}],
    "ProvexRequest": [{"name": "signer", "type": "address"}, {"name": "method", "type": "string"},
                      {"name": "path", "type": "string"}, {"name": "bodyHash", "type": "bytes32"},
                      {"name": "nonce", "type": "bytes32"}, {"name": "deadline", "type": "uint256"}],
}
STATEMENT_DOMAIN = {"name": "Provex", "version": "1", "chainId": 31337,
                    "verifyingContract": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}
FORM = """<!doctype html><html><head><meta name="provex-csrf" content="t">
<script src="/ethers.js"></script><script src="/signer.js"></script></head><body><main>
<form id="f" data-api-path="/vouchers"><input type="hidden" name="csrf_token" value="x" data-json="skip">
<select name="holder_id"><option value="acct-1" selected>b</option></select>
<input name="amount_yuan" value="12.34" data-json="fen" data-key="amount_fen">
<input name="days" value="2" data-json="days" data-key="expires_at">
<input name="sectors" value=" agriculture, energy ,," data-json="list">
<input name="epsilon" value="" data-json="number" data-optional>
<input type="checkbox" name="lawful_source" data-group="checklist" checked>
<input type="checkbox" name="sample_synthetic" data-group="checklist">
<input type="radio" name="decision" value="approve"><input type="radio" name="decision" value="reject" checked>
<textarea name="reasons">多行
理由</textarea><button name="action" value="go">go</button></form></main></body></html>"""


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


def recover(typed: dict[str, Any], signature: str) -> str:
    return str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))


def test_a_statement_signed_in_the_browser_recovers_to_the_wallet(page: Any) -> None:
    acct: LocalAccount = Account.create()
    body = json.dumps({"reason": "撤销: ünïcode"}, ensure_ascii=False, separators=(",", ":"))
    path = "/authorizations/PXA-2025-0001/revoke"
    headers = page.evaluate("""async ([key, domain, types, path, body]) => {
        const w = new ethers.Wallet(key);
        return await ProvexSigner.signStatement(w, domain, types, "post", path, body);
    }""", [acct.key.to_0x_hex(), STATEMENT_DOMAIN, STATEMENT_TYPES, path, body])
    assert headers["Provex-Signer"] == acct.address
    assert len(headers["Provex-Nonce"]) == 66 and len(headers["Provex-Signature"]) == 132
    message = {"signer": acct.address, "method": "POST", "path": path, "bodyHash": keccak(body.encode()),
               "nonce": bytes.fromhex(headers["Provex-Nonce"][2:]), "deadline": int(headers["Provex-Deadline"])}
    typed = {"types": {k: STATEMENT_TYPES[k] for k in ("EIP712Domain", "ProvexRequest")},
             "primaryType": "ProvexRequest", "domain": STATEMENT_DOMAIN,
             "message": message}
    assert recover(typed, headers["Provex-Signature"]) == acct.address
    other = {**typed, "message": {**message, "path": "/authorizations/PXA-2025-0002/revoke"}}
    assert recover(other, headers["Provex-Signature"]) != acct.address  # the path is part of what is signed


def test_a_forward_request_signed_in_the_browser_recovers_to_the_wallet(page: Any) -> None:
    acct: LocalAccount = Account.create()
    typed = {"types": {"EIP712Domain": DOMAIN_TYPE, "ForwardRequest": [
        {"name": "from", "type": "address"}, {"name": "to", "type": "address"}, {"name": "value", "type": "uint256"},
        {"name": "gas", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint48"}, {"name": "data", "type": "bytes"}]},
        "primaryType": "ForwardRequest",
        "domain": {"name": "ProvexForwarder", "version": "1", "chainId": 31337,
                   "verifyingContract": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"},
        "message": {"from": acct.address, "to": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", "value": 0,
                    "gas": 123456, "nonce": 3, "deadline": 1796000000, "data": "0xdeadbeef"}}
    entry = page.evaluate("async ([key, typed]) => ProvexSigner.signForward(new ethers.Wallet(key), typed)",
                          [acct.key.to_0x_hex(), typed])
    assert {k: entry[k] for k in ("nonce", "deadline", "gas")} == {"nonce": 3, "deadline": 1796000000, "gas": 123456}
    assert recover(typed, entry["signature"]) == acct.address
    someone_else = {**typed, "message": {**typed["message"], "from": Account.create().address}}
    refused = page.evaluate("""async ([key, typed]) => {
        try { await ProvexSigner.signForward(new ethers.Wallet(key), typed); return null; }
        catch (e) { return e.message; } }""", [acct.key.to_0x_hex(), someone_else])
    assert refused and "another address" in refused


def test_forms_become_the_api_bodies(page: Any) -> None:
    body = page.evaluate("ProvexSigner.formBody(document.getElementById('f'))")
    expires = body.pop("expires_at")
    assert body == {"holder_id": "acct-1", "amount_fen": 1234, "sectors": ["agriculture", "energy"],
                    "checklist": {"lawful_source": True, "sample_synthetic": False}, "decision": "reject",
                    "reasons": "多行\n理由"}
    assert expires.endswith("Z") and len(expires) == 24
    page.fill("input[name=amount_yuan]", "twelve")
    failure = page.evaluate("""() => { try { ProvexSigner.formBody(document.getElementById('f')); }
                                       catch (e) { return [e.field, e.message]; } }""")
    assert failure == ["amount_fen", "not a number"]


def test_the_key_stays_in_session_storage_until_forgotten(page: Any) -> None:
    acct: LocalAccount = Account.create()
    address = page.evaluate("""(key) => { ProvexSigner.keepWallet(new ethers.Wallet(key));
                                          return ProvexSigner.currentWallet().address; }""", acct.key.to_0x_hex())
    assert address == acct.address
    assert page.evaluate("Object.keys(sessionStorage)") == ["provex.key"]
    assert page.evaluate("localStorage.length") == 0
    page.evaluate("ProvexSigner.forgetWallet()")
    assert page.evaluate("ProvexSigner.currentWallet()") is None
