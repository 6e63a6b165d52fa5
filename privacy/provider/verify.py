"""A node's answer to a verification call: its own policy, its own rows of one key, one sealed signed bit.

The coordinator's signed request (``verify_req``: call id, key column, the claim's column and operator, the
question hash, the buyer's reply key and the question sealed to this node) is checked like a protocol round
(signature, addressee, freshness, single-use nonce). The node opens the sealed question with its sealing key
(:mod:`privacy.verify_question`: the key and the claim's values, which the exchange never sees) and checks it
matches the request's question hash, column, operator and reply key. It then refuses,
naming the rule, unless its signed policy declares both the key column and the claim column with the use
``verify`` (a node without a policy verifies nothing), and takes one plan of its daily allowance. It computes,
on its own rows whose key column equals the key, the row count and the sum of the claim column (clipped to
its declared bounds and rounded to its decimals, as every aggregate is), in its own database; the claim
holds when the key has a value and the value satisfies it. The answer is the same for "no such key" and
"does not hold": the statement carries one bit, is signed by the node and sealed to the buyer's reply key at
a fixed size, so the coordinator, which only forwards it, cannot tell the answers apart.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privacy.errors import PolicyRefused, ProtocolError, ProviderAuthError
from privacy.plan import Aggregate, ColumnSpec, Cond, Plan
from privacy.provider.enforce import DailyAllowance
from privacy.provider.policy import Policy
from privacy.provider.sources import DataSource
from privacy.secagg.crypto import sign
from privacy.secagg.provider import ProviderSecAgg
from privacy.secagg.refusal import refusal_body
from privacy.verify import MAX_KEY, REPLY, REQUEST, STATEMENT, Claim, ClaimError, holds, seal_statement
from privacy.verify_question import open_question


class NodeVerifier:
    """The ``POST /verify`` handler of a node."""

    def __init__(self, proto: ProviderSecAgg, policy: Policy | None, source: DataSource,
                 allowance: DailyAllowance | None, sealing: X25519PrivateKey) -> None:
        self.proto = proto
        self.sealing = sealing
        self.policy = policy
        self.source = source
        self.allowance = allowance

    def answer(self, envelope: Any) -> dict[str, Any]:
        body, req = self.proto.open_request(envelope, REQUEST)
        call_id, key_column, question = str(body["call"]), str(body["key_column"]), str(body["question"])
        c = body["claim"]
        try:
            q = open_question(str(body["sealed"]), self.sealing, self.proto.node_id, question)
        except ClaimError as e:
            raise ProtocolError(str(e)) from None
        if (q.claim.column, q.claim.op, q.reply_key) != (c["column"], c["op"], body["reply_key"]) \
                or not 0 < len(q.key) <= MAX_KEY:
            raise ProviderAuthError("the sealed question does not match the request's claim and reply key")
        try:
            spec_key, spec_claim = self._allowed(key_column, q.claim.column)
            if self.allowance is not None:
                self.allowance.take()
        except PolicyRefused as e:  # signed, bound to this request, as a plan's refusal
            e.refusal = self.proto.reply(req, refusal_body(e, call_id, question))
            raise
        match = self._lookup(spec_key, q.key, spec_claim, q.claim)
        node = self.proto.node_id
        statement = sign({"type": STATEMENT, "call": call_id, "node": node, "question": question, "match": match},
                         node, self.proto.identity)
        return self.proto.reply(req, {"type": REPLY, "call": call_id,
                                      "sealed": seal_statement(statement, q.reply_key, call_id)})

    def _allowed(self, key_column: str, claim_column: str) -> tuple[ColumnSpec, ColumnSpec]:
        """The two columns as this node's policy declares them, if it allows them for ``verify``."""
        if self.policy is None:
            raise PolicyRefused("column_use", "this node runs without a signed policy, so it verifies nothing")
        specs = []
        for name in (key_column, claim_column):
            rule = self.policy.columns.get(name)
            if rule is None:
                raise PolicyRefused("undeclared_column", f"column {name!r} is not declared by this node's policy")
            if "verify" not in rule.uses:
                allowed = ", ".join(rule.uses) or "nothing"
                raise PolicyRefused("column_use", f"column {name!r} may not be used for verify (allowed: {allowed})")
            specs.append(ColumnSpec(name, rule.type, rule.lo, rule.hi,  # type: ignore[arg-type]
                                    decimals=rule.decimals if rule.type == "float" else None))
        if specs[1].type == "category":
            raise PolicyRefused("column_spec", f"column {claim_column!r} is not numeric; a claim compares numbers")
        return specs[0], specs[1]

    def _lookup(self, key_spec: ColumnSpec, key: str, col: ColumnSpec, claim: Claim) -> bool:
        """Whether this node's rows of ``key`` have a value of the claim column that satisfies the claim."""
        if key_spec.type == "int":
            try:
                value: str | int = int(key)
            except ValueError:
                return False
        else:
            value = key
        plan = Plan(aggregates=(Aggregate("sum", col.name, "value"),), group_by=(),
                    where=Cond("cmp", key_spec.name, "=", (value,)),
                    columns=(ColumnSpec(key_spec.name, "category"), col))
        layout = plan.layout()
        (cells,) = layout.decode(self.source.compute(plan, [1] * len(layout.components)))
        lanes = {c.stat: int(v[0]) for c, v in cells.items()}
        if lanes["count"] == 0:  # no such key here, or no value: "no match", like a claim that fails
            return False
        return holds(claim, Fraction(lanes["sum"], col.scale))
