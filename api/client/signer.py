"""Signing on the participant's side: an httpx transport that signs every state-changing request with the
participant's own key, and the chain acts the exchange asks for (`428 signature_required`), then resends.

The key never leaves this process; the exchange receives signatures only (docs/signing.md).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.statements import (
    Binding,
    RequestStatement,
    StatementDomain,
    body_hash,
    new_nonce,
    sign,
)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATEMENT_TTL_S = 600
MAX_ROUNDS = 3  # prepare, commit, and one more prepare-commit when the acts changed in between


def domain_from(info: dict[str, Any]) -> StatementDomain:
    d = info["statement_domain"]
    return StatementDomain(int(d["chainId"]), str(d["verifyingContract"]), str(d["name"]), str(d["version"]))


def make_binding(account: LocalAccount, domain: StatementDomain, role: str, name: str,
                 ttl: int = STATEMENT_TTL_S) -> dict[str, Any]:
    """The body fields that bind `account`'s address to a new account (`POST /accounts`)."""
    binding = Binding(account.address, role, name, new_nonce(), int(time.time()) + ttl)
    return {"address": account.address, "nonce": binding.nonce, "deadline": binding.deadline,
            "signature": sign(account, domain, binding)}


def sign_forward(account: LocalAccount, requests: list[dict[str, Any]]) -> str:
    """The `Provex-Forward` header for the typed forward requests of a 428 answer."""
    out = []
    for item in requests:
        typed = item["typed_data"]
        signed = Account.sign_typed_data(account.key, full_message=typed)
        m = typed["message"]
        out.append({"nonce": int(m["nonce"]), "deadline": int(m["deadline"]), "gas": int(m["gas"]),
                    "signature": "0x" + bytes(signed.signature).hex()})
    return json.dumps(out, separators=(",", ":"))


class SigningTransport(httpx.BaseTransport):
    """Wraps a transport: signs each state-changing request as `account` and answers the exchange's
    requests for chain-act signatures. Reads `GET /signing` once for the domain."""

    def __init__(self, account: LocalAccount, inner: httpx.BaseTransport | None = None) -> None:
        self.account = account
        self.inner = inner or httpx.HTTPTransport()
        self._domain: StatementDomain | None = None

    def domain(self, request: httpx.Request) -> StatementDomain:
        if self._domain is None:
            url = request.url.copy_with(path="/signing", query=None)
            response = self.inner.handle_request(httpx.Request("GET", url))
            response.read()
            if response.status_code != 200:
                raise httpx.HTTPStatusError(f"GET /signing answered {response.status_code}", request=request,
                                            response=response)
            self._domain = domain_from(response.json())
        return self._domain

    def statement_headers(self, request: httpx.Request, body: bytes) -> dict[str, str]:
        statement = RequestStatement(self.account.address, request.method, request.url.raw_path.decode("latin-1"),
                                     body_hash(body), new_nonce(), int(time.time()) + STATEMENT_TTL_S)
        return {"Provex-Signer": self.account.address, "Provex-Nonce": statement.nonce,
                "Provex-Deadline": str(statement.deadline),
                "Provex-Signature": sign(self.account, self.domain(request), statement)}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method not in UNSAFE_METHODS:
            return self.inner.handle_request(request)
        body = request.read()
        headers = dict(request.headers)
        headers.update(self.statement_headers(request, body))
        response = self._send(request, headers, body)
        for _ in range(MAX_ROUNDS):
            if response.status_code == 428:
                response.read()
                headers["Provex-Forward"] = sign_forward(self.account, response.json().get("requests") or [])
            elif response.status_code == 409 and "Provex-Forward" in headers and _code(response) == "act_changed":
                headers.pop("Provex-Forward")
            else:
                return response
            response.close()
            response = self._send(request, headers, body)
        return response

    def _send(self, request: httpx.Request, headers: dict[str, str], body: bytes) -> httpx.Response:
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
        again = httpx.Request(request.method, request.url, headers=headers, content=body,
                              extensions=request.extensions)
        return self.inner.handle_request(again)

    def close(self) -> None:
        self.inner.close()


def _code(response: httpx.Response) -> str:
    response.read()
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return ""
