"""Who signed each record: an auditor's check that every participant act in the log carries its participant's
own signature, by the address the participant bound with its own signature (the `account.bound` record)
rather than whatever the exchange's accounts table says now (docs/signing.md)."""

from __future__ import annotations

from typing import Any

from ledger.role_history import RoleAct
from ledger.statements import Binding, RequestStatement, StatementDomain, StatementError, recover

# Records a participant's own request writes, with the participant as actor: each must carry its signature.
SIGNED_KINDS = frozenset({
    "order.placed", "query.run", "query.refused", "review.started", "review.decided", "authorization.revoked",
    "price_cap.set", "offer.publish", "offer.withdraw", "voucher.issue", "negotiation.requested", "budget_policy.set",
    "provider.node", "roles.granted", "account.key_rotated"})


class RecordSignatures:
    """Fed the log in order; `check` names what is wrong with one record's signature, or returns None."""

    def __init__(self, domain: StatementDomain | None = None) -> None:
        self.domain = domain  # the trusted deployment's; None: each statement's own (checked for consistency)
        self.bound: dict[str, str] = {}  # account id -> address it bound
        self.role_acts: list[RoleAct] = []  # acts that need a chain role, for the caller to check against the chain

    def _domain_of(self, signed: dict[str, Any]) -> StatementDomain:
        own = StatementDomain(int(signed["chain_id"]), str(signed["verifying_contract"]))
        if self.domain is not None and (own.chain_id, own.verifying_contract.lower()) != (
                self.domain.chain_id, self.domain.verifying_contract.lower()):
            raise StatementError(f"signed for chain {own.chain_id} / {own.verifying_contract}, not this deployment")
        return own

    def check(self, record: dict[str, Any]) -> str | None:
        kind, actor, data = record.get("kind"), str(record.get("actor")), record.get("data") or {}
        try:
            if kind == "account.bound":
                return self._bind(actor, data)
            signed = data.get("signed")
            if signed is None:
                return f"{kind} by account {actor} carries no signature of its own" if kind in SIGNED_KINDS else None
            address = self.bound.get(actor)
            if address is None:
                return f"{kind} is signed, but account {actor} never bound an address in this log"
            statement = RequestStatement(str(signed["signer"]), str(signed["method"]), str(signed["path"]),
                                         str(signed["body_hash"]), str(signed["nonce"]), int(signed["deadline"]))
            signer = recover(self._domain_of(signed), statement, str(signed["signature"]))
        except (StatementError, KeyError, TypeError, ValueError) as exc:
            return f"{kind} by account {actor}: unreadable signature ({exc})"
        if signer.lower() != address.lower():
            return f"{kind} by account {actor} is signed by {signer}, not by its bound address {address}"
        act = RoleAct.of(record, signer)
        if act is not None:
            self.role_acts.append(act)
        return None

    def _bind(self, actor: str, data: dict[str, Any]) -> str | None:
        binding = Binding(str(data["address"]), str(data["role"]), str(data["name"]), str(data["nonce"]),
                          int(data["deadline"]))
        signer = recover(self._domain_of(data), binding, str(data["signature"]))
        if signer.lower() != str(data["address"]).lower():
            return f"account {actor}'s binding is signed by {signer}, not by {data['address']}"
        if actor in self.bound:
            return f"account {actor} is bound twice"
        self.bound[actor] = str(data["address"])
        return None
