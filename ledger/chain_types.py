"""What the Provex contracts hold, as Python values: roles, enums and the structs their views return."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_utils import keccak

MAX_UINT256 = 2**256 - 1

DEFAULT_ADMIN_ROLE = b"\x00" * 32
AUTHORITY_ROLE = keccak(text="AUTHORITY_ROLE")
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
EXCHANGE_ROLE = keccak(text="EXCHANGE_ROLE")
RECORDER_ROLE = keccak(text="RECORDER_ROLE")
MINTER_ROLE = keccak(text="MINTER_ROLE")

ROLE_NAMES: dict[bytes, str] = {
    DEFAULT_ADMIN_ROLE: "DEFAULT_ADMIN_ROLE", AUTHORITY_ROLE: "AUTHORITY_ROLE", OPERATOR_ROLE: "OPERATOR_ROLE",
    EXCHANGE_ROLE: "EXCHANGE_ROLE", RECORDER_ROLE: "RECORDER_ROLE", MINTER_ROLE: "MINTER_ROLE",
}


class Classification(IntEnum):
    GENERAL = 0
    IMPORTANT = 1
    CORE = 2


class ProductStatus(IntEnum):
    REGISTERED = 1
    LISTED = 2
    SUSPENDED = 3
    DELISTED = 4


class LicenseStatus(IntEnum):
    PAID = 1
    ESCROWED = 2
    REFUNDED = 3


@dataclass(frozen=True)
class ChainProduct:
    operator: str
    status: ProductStatus
    version: int
    authorization_id: bytes
    metadata_hash: bytes
    sector: bytes
    resource_ids: list[bytes]


@dataclass(frozen=True)
class ChainLicense:
    buyer: str
    status: LicenseStatus
    purchased_at: int
    release_after: int
    offer_id: bytes
    product_id: bytes
    voucher_id: bytes
    terms_hash: bytes
    quantity: int
    amount: int
    voucher_paid: int
    use: int  # Settlement.USE_COMMERCIAL (0) or USE_PUBLIC_WELFARE (1)


@dataclass(frozen=True)
class Checkpoint:
    index: int
    tree_size: int
    timestamp: int
    root: bytes
