"""Who signed each record: an auditor's check that every participant act in the log carries its participant's
own signature, by the address the participant bound with its own signature (the `account.bound` record)
rather than whatever the exchange's accounts table says now (docs/signing.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.role_history import RoleAct

if TYPE_CHECKING:  # imported where used: checking unsigned records in a worker process needs none of web3
    from ledger.statements import StatementDomain

# Records a participant's own request writes, with the participant as actor: each must carry its signature.
SIGNED_KINDS = frozenset({
    "order.placed", "query.run", "query.refused", "review.started", "review.decided", "authorization.revoked",
    "authorization.limited",
    "price_cap.set", "price_cap_rule.set", "total_budget.set", "model.fit",
    "offer.publish", "offer.withdraw", "voucher.issue", "voucher_programme.create", "voucher.reclaim",
    "negotiation.requested", "budget_policy.set", "provider.node", "roles.granted", "account.key_rotated",
    "public_welfare.set", "revenue_allowance.set", "report.published", "notice.started", "objection.filed",
    "objection.resolved", "revision.proposed", "revision.decided", "revision.published", "cost.declared",
    "correction.filed", "correction.decided", "cancellation.applied", "cancellation.decided", "verification.call"})


@dataclass(frozen=True)
class SignedFacts:
    """What one record's own signature says, worked out from that record alone (so in any process)."""

    seq: int
    kind: str
    actor: str
    signer: str | None = None  # the address that signed it
    problem: str | None = None  # wrong without looking at any other record
    bound: str | None = None  # account.bound: the address the account binds
    role_act: RoleAct | None = None  # the act needs a chain role: for the caller to check against the chain


def _domain_of(signed: dict[str, Any], trusted: StatementDomain | None) -> StatementDomain:
    from ledger.statements import StatementDomain, StatementError

    own = StatementDomain(int(signed["chain_id"]), str(signed["verifying_contract"]))
    if trusted is not None and (own.chain_id, own.verifying_contract.lower()) != (
            trusted.chain_id, trusted.verifying_contract.lower()):
        raise StatementError(f"signed for chain {own.chain_id} / {own.verifying_contract}, not this deployment")
    return own


def signed_facts(record: dict[str, Any], domain: StatementDomain | None) -> SignedFacts | None:
    """The record's signature facts; None for a record that carries no signature and needs none. `domain`: the
    trusted deployment's (None: each statement's own)."""
    from ledger.statements import Binding, RequestStatement, StatementError, recover

    kind, actor, data = str(record.get("kind")), str(record.get("actor")), record.get("data") or {}
    seq = int(record.get("seq") or 0)
    try:
        if kind == "account.bound":
            binding = Binding(str(data["address"]), str(data["role"]), str(data["name"]), str(data["nonce"]),
                              int(data["deadline"]))
            signer = recover(_domain_of(data, domain), binding, str(data["signature"]))
            wrong = signer.lower() != str(data["address"]).lower()
            return SignedFacts(seq, kind, actor, signer, bound=str(data["address"]), problem=(
                f"account {actor}'s binding is signed by {signer}, not by {data['address']}" if wrong else None))
        signed = data.get("signed")
        if signed is None:
            return SignedFacts(seq, kind, actor, problem=f"{kind} by account {actor} carries no signature of its own"
                               ) if kind in SIGNED_KINDS else None
        statement = RequestStatement(str(signed["signer"]), str(signed["method"]), str(signed["path"]),
                                     str(signed["body_hash"]), str(signed["nonce"]), int(signed["deadline"]))
        signer = recover(_domain_of(signed, domain), statement, str(signed["signature"]))
        return SignedFacts(seq, kind, actor, signer, role_act=RoleAct.of(record, signer))
    except (StatementError, KeyError, TypeError, ValueError) as exc:
        return SignedFacts(seq, kind, actor, problem=f"{kind} by account {actor}: unreadable signature ({exc})")


class RecordSignatures:
    """Fed the log's signature facts in order; `judge` names what is wrong with one record's, or returns None."""

    def __init__(self, domain: StatementDomain | None = None) -> None:
        self.domain = domain
        self.bound: dict[str, str] = {}  # account id -> address it bound
        self.role_acts: list[RoleAct] = []  # acts that need a chain role, for the caller to check against the chain

    def check(self, record: dict[str, Any]) -> str | None:
        facts = signed_facts(record, self.domain)
        return None if facts is None else self.judge(facts)

    def judge(self, f: SignedFacts) -> str | None:
        if f.problem is not None:
            return f.problem
        if f.kind == "account.bound":
            if f.actor in self.bound:
                return f"account {f.actor} is bound twice"
            self.bound[f.actor] = str(f.bound)
            return None
        address = self.bound.get(f.actor)
        if address is None:
            return f"{f.kind} is signed, but account {f.actor} never bound an address in this log"
        if str(f.signer).lower() != address.lower():
            return f"{f.kind} by account {f.actor} is signed by {f.signer}, not by its bound address {address}"
        if f.role_act is not None:
            self.role_acts.append(f.role_act)
        return None
