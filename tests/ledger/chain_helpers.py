"""Small builders for contract tests: an authorized operator with a listed product."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from ledger.contracts import OPERATOR_ROLE, Classification, Ledger, ProductStatus
from tests.conftest import uid

H1 = b"\x11" * 32
H2 = b"\x22" * 32


def now(ledger: Ledger) -> int:
    return int(ledger.client.w3.eth.get_block("latest")["timestamp"])


def advance_time(ledger: Ledger, seconds: int) -> None:
    ledger.client.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    ledger.client.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@dataclass
class Listed:
    operator: LocalAccount
    resources: list[str]
    authorization: str
    product: str
    sector: str


def make_operator(ledger: Ledger, roles: dict[str, LocalAccount],
                  new_account: Callable[[], LocalAccount]) -> LocalAccount:
    op = new_account()
    ledger.grant_role(roles["authority"], "DataRegistry", OPERATOR_ROLE, op.address)
    return op


def listed_product(ledger: Ledger, roles: dict[str, LocalAccount], new_account: Callable[[], LocalAccount],
                   *, list_it: bool = True, lifetime: int = 10**8, sector: str = "agriculture") -> Listed:
    """Resource → authorization → product (→ listed), each step a real transaction."""
    auth = roles["authority"]
    op = make_operator(ledger, roles, new_account)
    res = [uid("res"), uid("res")]
    for r in res:
        ledger.register_resource(auth, r, Classification.GENERAL, H1, H2)
    authz = uid("authz")
    t = now(ledger)
    ledger.grant_authorization(auth, authz, op.address, res, H1, t - 10, t + lifetime, Classification.IMPORTANT)
    prod = uid("prod")
    ledger.register_product(op, prod, authz, res, H2, sector)
    if list_it:
        ledger.set_product_status(roles["exchange"], prod, ProductStatus.LISTED)
    return Listed(op, res, authz, prod, sector)
