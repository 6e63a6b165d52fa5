"""Client calls for verification calls (核验): the sealed call, its opening on the buyer's side, the history."""

from __future__ import annotations

import re
from typing import Any

from api.client.base import BaseClient, Json
from privacy.verify import Claim, new_reply_key, open_bundle, reply_key_hex
from privacy.verify_question import Question, checked_sealing_key, seal_question

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
    """Verification calls: the question sealed here to each node's signed sealing key, the answers sealed to a fresh
    reply key and opened and checked here; the exchange sees neither the key nor the claim's values."""

    def verification_nodes(self, license_id: str) -> list[Json]:
        """`GET /licenses/{license_id}/verification-nodes` (buyer): the product's nodes, their registered keys and
        their node-signed X25519 sealing keys."""
        return list(self.get(f"/licenses/{license_id}/verification-nodes"))

    def verification_call(self, license_id: str, claim: Json, question_hash: str, reply_key: str,
                          sealed: dict[str, str], idempotency_key: str | None = None) -> Json:
        """`POST /verifications` (buyer): the nodes' sealed answers (one each, random order, equal size) to the
        questions in `sealed` (node id -> question sealed to it); `claim` is `{"column", "op"}` only."""
        body = {"license_id": license_id, "claim": claim, "question_hash": question_hash, "reply_key": reply_key,
                "sealed": sealed}
        return dict(self.post("/verifications", body, idempotency_key=idempotency_key))

    def sealed_question(self, license_id: str, key: str, claim: Claim, reply_key: str
                        ) -> tuple[Question, dict[str, str], dict[str, str]]:
        """The question, sealed to every node of the license's product after checking each sealing key is
        signed by the node's registered identity key; and the node keys (node id -> Ed25519 hex)."""
        question = Question.new(key, claim, reply_key)
        listed = self.verification_nodes(license_id)
        nodes, sealed = {n["node_id"]: n["public_key"] for n in listed}, {}
        for n in listed:
            sealing = checked_sealing_key(n["sealing_key"], n["node_id"], n["public_key"])
            sealed[n["node_id"]] = seal_question(question, n["node_id"], sealing)
        return question, sealed, nodes

    def verify_claim(self, license_id: str, key: str, claim: str | Claim, idempotency_key: str | None = None) -> Json:
        """A verification call sealed and opened here: ``match`` (one bit), the call id, the receipt, and the
        nodes' signed statements (checked against the registered node keys)."""
        parsed = parse_claim(claim) if isinstance(claim, str) else claim
        secret = new_reply_key()
        question, sealed, nodes = self.sealed_question(license_id, key, parsed, reply_key_hex(secret))
        out = self.verification_call(license_id, {"column": parsed.column, "op": parsed.op}, question.hash,
                                     reply_key_hex(secret), sealed, idempotency_key)
        if out["question_hash"] != question.hash:
            raise ValueError("the exchange answered another question than the one asked")
        if {n["node_id"]: n["public_key"] for n in out["nodes"]} != nodes:
            raise ValueError("the exchange answered with other nodes than those the question was sealed to")
        verdict = open_bundle(out["sealed"], secret, out["call_id"], question.hash, nodes)
        result: dict[str, Any] = {"match": verdict.match, "claim": parsed.text(), "call_id": out["call_id"],
                                  "bundle_hash": out["bundle_hash"], "receipt": out["receipt"],
                                  "charge_id": out["charge_id"], "queries_left": out["queries_left"],
                                  "statements": verdict.statements}
        return result

    def verifications(self, license_id: str) -> list[Json]:
        """`GET /licenses/{license_id}/verifications` (buyer): the license's calls, newest first."""
        return list(self.get(f"/licenses/{license_id}/verifications"))
