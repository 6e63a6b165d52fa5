"""Settlement's pure price and split rules, computed here exactly as the contract computes them.

`price_of` is `Settlement.priceOf` over an offer's tiers (the unit price of the highest tier reached, times the
quantity, in uint128: a product past 2^128 - 1 reverts with Panic(0x11) as checked arithmetic does), and
`split_of` is `Settlement.splitOf` (largest-remainder method). The contract stays the rule: these are its
mirror for quotes and pre-checks, and tests/ledger/test_settlement_rules.py compares them with `eth_call` on
thousands of random cases, remainders included. Nothing here talks to the chain.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import ContractRevert

TOTAL_BPS = 10_000
UINT128_MAX = 2**128 - 1
UINT64_MAX = 2**64 - 1
PANIC_OVERFLOW = 0x11  # Solidity's Panic codes: checked arithmetic overflow or underflow,
PANIC_INDEX = 0x32  # and an array index out of bounds


def price_of(tier_min_quantity: Sequence[int], tier_unit_price: Sequence[int], quantity: int) -> int:
    """`Settlement.priceOf`: raises ContractRevert as the contract reverts (ZeroQuantity, Panic(0x11))."""
    if quantity == 0:
        raise ContractRevert("ZeroQuantity", {})
    if not 0 < quantity <= UINT64_MAX:
        raise ValueError(f"quantity {quantity} is not a uint64")
    unit = int(tier_unit_price[0])
    for i in range(1, len(tier_min_quantity)):
        if quantity >= tier_min_quantity[i]:
            unit = int(tier_unit_price[i])
    amount = unit * quantity
    if amount > UINT128_MAX:
        raise ContractRevert("Panic", {"code": PANIC_OVERFLOW})
    return amount


def split_of(amount: int, bps: Sequence[int]) -> list[int]:
    """`Settlement.splitOf`: payee i gets floor(amount x bps_i / 10000); the fen left go one each to the largest
    fractional parts (amount x bps_i mod 10000), ties to the lower index. As in the contract, bps summing above
    10,000 underflow (Panic(0x11)), and fen left once every payee has had one (bps summing below 10,000) go to
    payee 0."""
    scaled = [amount * int(b) for b in bps]
    shares = [s // TOTAL_BPS for s in scaled]
    remainder = amount - sum(shares)
    if remainder < 0:
        raise ContractRevert("Panic", {"code": PANIC_OVERFLOW})
    if remainder and not bps:
        raise ContractRevert("Panic", {"code": PANIC_INDEX})
    order = sorted(range(len(bps)), key=lambda i: (-(scaled[i] % TOTAL_BPS), i))
    for i in order[:remainder]:
        shares[i] += 1
    if remainder > len(bps):
        shares[0] += remainder - len(bps)
    return shares
