"""Client calls for verification calls (核验): the sealed call, its opening on the buyer's side, the history."""

from __future__ import annotations

import re
from typing import Any

from api.client.base import BaseClient, Json
from privacy.verify import Claim, new_reply_key, open_bundle, question_hash, reply_key_hex

_CLAIM = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:(>=|<=|=|>|<)\s*(\S+)|between\s+(\S+)\s+and\s+(\S+)"
                    r"|within\s+(\S+?)\s*%\s+of\s+(\S+))\s*$")


def parse_claim(text: str) -> Claim:
    """``head_count >= 200``, ``head_count between 100 and 300``, ``kwh within 5% of 1200``; ValueError otherwise."""
    m = _CLAIM.match(text)
    if not m:
        raise ValueError(f"cannot read the claim {text!r}: write e.g. 'head_count >= 200', "
                         "'head_count between 100 and 300' or 'kwh within 5% of 1200'")
    column, op, v, lo, hi, pct, target = m.groups()
    if op:
        return Claim.parse(column, op, [v])
    if lo is not None:
        return Claim.parse(column, "between", [lo, hi])
    return Claim.parse(column, "within_pct", [target, pct])


class VerifyCalls(BaseClient):
    """Verification calls: sealed to a fresh reply key, opened and checked here."""

    def verification_call(self, license_id: str, key: str, claim: Json, reply_key: str,
                          idempotency_key: str | None = None) -> Json:
        """`POST /verifications` (buyer): the nodes' sealed answers (one each, random order, equal size) to
        `claim` (`{"column", "op", "value" or "values"}`), sealed to `reply_key` (X25519, hex)."""
        body = {"license_id": license_id, "key": key, "reply_key": reply_key, "claim": claim}
        return dict(self.post("/verifications", body, idempotency_key=idempotency_key))

    def verify_claim(self, license_id: str, key: str, claim: str | Claim, idempotency_key: str | None = None) -> Json:
        """A verification call opened here: ``match`` (one bit), the call id, the receipt, and the nodes'
        signed statements (checked against the registered node keys the exchange returned)."""
        parsed = parse_claim(claim) if isinstance(claim, str) else claim
        secret = new_reply_key()
        out = self.verification_call(license_id, key, parsed.to_dict(), reply_key_hex(secret), idempotency_key)
        question = question_hash(key, parsed)
        if out["question_hash"] != question:
            raise ValueError("the exchange answered another question than the one asked")
        nodes = {n["node_id"]: n["public_key"] for n in out["nodes"]}
        verdict = open_bundle(out["sealed"], secret, out["call_id"], question, nodes)
        result: dict[str, Any] = {"match": verdict.match, "claim": parsed.text(), "call_id": out["call_id"],
                                  "bundle_hash": out["bundle_hash"], "receipt": out["receipt"],
                                  "charge_id": out["charge_id"], "queries_left": out["queries_left"],
                                  "statements": verdict.statements}
        return result

    def verifications(self, license_id: str) -> list[Json]:
        """`GET /licenses/{license_id}/verifications` (buyer): the license's calls, newest first."""
        return list(self.get(f"/licenses/{license_id}/verifications"))
