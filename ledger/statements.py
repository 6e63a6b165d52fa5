"""Participants' signed statements (EIP-712): an API request (`ProvexRequest`) and an address binding
(`ProvexBinding`). Pure functions: build, sign, recover. The wire protocol is docs/signing.md.

The domain names the chain and the DataRegistry, so a statement made for one exchange's deployment is
worthless on another's.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from ledger.deploy import Deployment
from ledger.forwarder import EIP712_DOMAIN_FIELDS
from ledger.secp256k1 import signer_of

DOMAIN_FIELDS = EIP712_DOMAIN_FIELDS  # the same EIP-712 domain shape as the forwarder's
REQUEST_FIELDS: list[dict[str, str]] = [
    {"name": "signer", "type": "address"},
    {"name": "method", "type": "string"},
    {"name": "path", "type": "string"},
    {"name": "bodyHash", "type": "bytes32"},
    {"name": "nonce", "type": "bytes32"},
    {"name": "deadline", "type": "uint256"},
]
BINDING_FIELDS: list[dict[str, str]] = [
    {"name": "account", "type": "address"},
    {"name": "role", "type": "string"},
    {"name": "name", "type": "string"},
    {"name": "nonce", "type": "bytes32"},
    {"name": "deadline", "type": "uint256"},
]
TYPES: dict[str, list[dict[str, str]]] = {"ProvexRequest": REQUEST_FIELDS, "ProvexBinding": BINDING_FIELDS}
MAX_AHEAD_S = 3600  # a statement's deadline may be at most this far ahead


class StatementError(ValueError):
    """A statement that is malformed, expired, or not signed by whom it names."""


@dataclass(frozen=True)
class StatementDomain:
    chain_id: int
    verifying_contract: str
    name: str = "Provex"
    version: str = "1"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "chainId": self.chain_id,
                "verifyingContract": Web3.to_checksum_address(self.verifying_contract)}


@dataclass(frozen=True)
class RequestStatement:
    """What a participant signs for one API request."""

    signer: str
    method: str
    path: str
    body_hash: str  # 0x + 64 hex
    nonce: str  # 0x + 64 hex
    deadline: int

    def message(self) -> dict[str, Any]:
        return {"signer": Web3.to_checksum_address(self.signer), "method": self.method, "path": self.path,
                "bodyHash": bytes.fromhex(self.body_hash[2:]), "nonce": bytes.fromhex(self.nonce[2:]),
                "deadline": self.deadline}

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Binding:
    """What a key holder signs to bind its address to an account of `role` named `name`."""

    account: str
    role: str
    name: str
    nonce: str
    deadline: int

    def message(self) -> dict[str, Any]:
        return {"account": Web3.to_checksum_address(self.account), "role": self.role, "name": self.name,
                "nonce": bytes.fromhex(self.nonce[2:]), "deadline": self.deadline}


def statement_domain(deployment: Deployment) -> StatementDomain:
    """The statement domain of a deployment: its chain and its DataRegistry."""
    return StatementDomain(deployment.chain_id, deployment.addresses["DataRegistry"])


def body_hash(body: bytes) -> str:
    return "0x" + keccak(body).hex()


def new_nonce() -> str:
    return "0x" + secrets.token_hex(32)


def typed_data(domain: StatementDomain, primary: str, message: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 message (what a wallet shows and signs)."""
    return {"types": {"EIP712Domain": DOMAIN_FIELDS, primary: TYPES[primary]}, "primaryType": primary,
            "domain": domain.as_dict(), "message": message}


def _primary(item: RequestStatement | Binding) -> str:
    return "ProvexRequest" if isinstance(item, RequestStatement) else "ProvexBinding"


def sign(account: LocalAccount, domain: StatementDomain, item: RequestStatement | Binding) -> str:
    primary = _primary(item)
    signed = account.sign_typed_data(domain.as_dict(), {primary: TYPES[primary]}, item.message())
    return "0x" + bytes(signed.signature).hex()


def recover(domain: StatementDomain, item: RequestStatement | Binding, signature: str) -> str:
    """The address that signed `item`; StatementError for a signature that is not one."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        m = encode_typed_data(full_message=typed_data(domain, _primary(item), item.message()))
        claimed = item.signer if isinstance(item, RequestStatement) else item.account
        return signer_of(keccak(b"\x19" + m.version + m.header + m.body), raw, claimed)
    except Exception as exc:  # malformed hex, wrong length, off-curve values: all "not a signature"
        raise StatementError(f"not a valid signature: {exc}") from None


def check_fresh(deadline: int, now: int) -> None:
    """A deadline in the future and at most MAX_AHEAD_S ahead."""
    if deadline <= now:
        raise StatementError(f"the statement expired at {deadline} (now {now})")
    if deadline > now + MAX_AHEAD_S:
        raise StatementError(f"the deadline {deadline} is more than {MAX_AHEAD_S} s ahead")


def check_hex32(value: str, what: str) -> str:
    v = value.strip().lower()
    if len(v) != 66 or not v.startswith("0x") or any(c not in "0123456789abcdef" for c in v[2:]):
        raise StatementError(f"{what} must be 0x and 64 hex digits")
    return v


def verify(domain: StatementDomain, item: RequestStatement | Binding, signature: str, expected: str) -> None:
    """Raise StatementError unless `signature` over `item` recovers to `expected`."""
    signer = recover(domain, item, signature)
    if signer.lower() != expected.lower():
        raise StatementError(f"signed by {signer}, not by {expected}")
