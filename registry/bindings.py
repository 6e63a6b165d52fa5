"""Binding an address to an account: the holder's `ProvexBinding` signature, checked here and kept in the
account's first ledger record so an auditor can check it too (`ledger.statements`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from ledger.statements import Binding, StatementDomain, StatementError, check_fresh, check_hex32, verify
from registry.errors import InvalidInput


@dataclass(frozen=True)
class SignedBinding:
    binding: Binding
    signature: str
    domain: StatementDomain

    @classmethod
    def of(cls, fields: dict[str, Any], role: str, name: str, domain: StatementDomain) -> SignedBinding:
        """From the wire fields {address, nonce, deadline, signature} of a binding to a `role` account `name`."""
        try:
            binding = Binding(str(fields["address"]), role, name, str(fields["nonce"]).lower(), int(fields["deadline"]))
            return cls(binding, str(fields["signature"]), domain)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("binding", f"needs address, nonce, deadline and signature: {exc}") from None

    def check(self) -> str:
        """The bound address (checksummed); InvalidInput naming what is wrong."""
        try:
            check_hex32(self.binding.nonce, "nonce")
            check_fresh(self.binding.deadline, int(time.time()))
            verify(self.domain, self.binding, self.signature, self.binding.account)
        except StatementError as exc:
            raise InvalidInput("signature", f"the address binding is not valid: {exc}") from None
        return Web3.to_checksum_address(self.binding.account)

    def as_record(self) -> dict[str, Any]:
        b = self.binding
        return {"address": Web3.to_checksum_address(b.account), "role": b.role, "name": b.name, "nonce": b.nonce,
                "deadline": b.deadline, "signature": self.signature, "chain_id": self.domain.chain_id,
                "verifying_contract": self.domain.verifying_contract}
