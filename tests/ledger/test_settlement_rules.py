"""ledger.settlement_rules and ledger.offer_book agree with Settlement's own `priceOf` and `splitOf`, by eth_call.

Thousands of seeded random cases (tier sets of up to 8 tiers, quantities at and around every tier boundary,
prices up to the uint128 overflow, splits among up to 8 payees with every kind of remainder, bps summing
below and above 10,000), all sent to a real Anvil as JSON-RPC batches, so the whole check takes a few seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import requests
from eth_abi import decode
from eth_account.signers.local import LocalAccount

from ledger.contracts import MAX_UINT256, Ledger
from ledger.errors import ContractRevert
from ledger.ids import chain_id_of
from ledger.settlement_rules import UINT64_MAX, price_of, split_of
from tests.conftest import uid
from tests.ledger.chain_helpers import listed_product

OFFERS, QUANTITIES_PER_OFFER, SPLITS = 40, 60, 3000
Outcome = tuple[str, Any]  # ("ok", value) or ("revert", "Name(args)")


def local(fn: Callable[[], Any]) -> Outcome:
    try:
        return "ok", fn()
    except ContractRevert as exc:
        return "revert", str(exc)


def on_chain(ledger: Ledger, calls: list[tuple[str, list[Any]]], out: str) -> list[Outcome]:
    """Each Settlement view call's result (or decoded revert), sent as JSON-RPC batches of eth_call."""
    s = ledger.settlement
    outcomes: list[Outcome] = []
    for at in range(0, len(calls), 1000):
        batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call",
                  "params": [{"to": s.address, "data": s.encode_abi(fn, args)}, "latest"]}
                 for i, (fn, args) in enumerate(calls[at:at + 1000])]
        answers = sorted(requests.post(ledger.client.rpc_url, json=batch, timeout=60).json(), key=lambda a: a["id"])
        for a in answers:
            if "error" in a:
                outcomes.append(("revert", str(ledger.client.decoder.decode(a["error"].get("data") or "0x"))))
            else:
                value = decode([out], bytes.fromhex(a["result"][2:]))[0]
                outcomes.append(("ok", list(value) if isinstance(value, tuple) else value))
    return outcomes


def random_tiers(rng: random.Random) -> list[tuple[int, int]]:
    n = rng.randint(1, 8)
    mins = [1, *sorted(rng.sample(range(2, rng.choice([20, 10_000, 10**12])), n - 1))]
    top = rng.choice([100, 10**6, 10**15, 2**100])
    return [(m, rng.randint(0, top)) for m in mins]


def quantities(rng: random.Random, tiers: list[tuple[int, int]]) -> list[int]:
    near = [q for m, _ in tiers for q in (m - 1, m, m + 1) if q >= 0]
    picks = [*near, 0, 1, UINT64_MAX, 2**40]
    more = QUANTITIES_PER_OFFER - len(picks)
    return picks + [rng.randint(1, rng.choice([50, 10**6, UINT64_MAX])) for _ in range(more)]


def random_bps(rng: random.Random) -> list[int]:
    n = rng.randint(1, 8)
    cuts = sorted(rng.sample(range(1, 10_000), n - 1)) if n > 1 else []
    bps = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
    kind = rng.random()
    if kind < 0.03:  # below 10,000: fen left over after every payee had one go to payee 0
        bps[0] = max(0, bps[0] - rng.randint(1, 50))
    elif kind < 0.05:  # above 10,000: the contract underflows
        bps[-1] = min(65_535, bps[-1] + rng.randint(1, 50))
    return bps


def test_local_prices_are_settlement_prices(ledger: Ledger, roles: dict[str, LocalAccount],
                                            new_account: Callable[[], LocalAccount]) -> None:
    rng = random.Random(17)
    listed = listed_product(ledger, roles, new_account)
    payee = new_account().address
    cases: list[tuple[str, int, list[tuple[int, int]]]] = []
    for _ in range(OFFERS):
        offer, tiers = uid("offer"), random_tiers(rng)
        ledger.publish_offer(listed.operator, offer, listed.product, tiers, [(payee, 10_000)])
        cases += [(offer, q, tiers) for q in quantities(rng, tiers)]
    chain = on_chain(ledger, [("priceOf", [chain_id_of(o), q]) for o, q, _ in cases], "uint128")
    book = {o: ledger.offers.get(o) for o, _, _ in cases}
    mismatches = [(o, q, tiers, c, mine) for (o, q, tiers), c in zip(cases, chain, strict=True)
                  if c != (mine := local(lambda o=o, q=q: book[o].price_of(q)))
                  or c != local(lambda q=q, t=tiers: price_of([m for m, _ in t], [p for _, p in t], q))]
    assert not mismatches, mismatches[:5]
    kinds = {c[0] for c in chain}
    assert kinds == {"ok", "revert"} and any("Panic" in str(c[1]) for c in chain)  # overflows were exercised


def test_local_splits_are_settlement_splits(ledger: Ledger) -> None:
    rng = random.Random(18)
    cases: list[tuple[int, list[int]]] = []
    for _ in range(SPLITS):
        bps = random_bps(rng)
        cap = 300 if sum(bps) < 10_000 else rng.choice([10, 10_000, 10**9, 10**15, 2**100])
        cases.append((rng.randint(0, cap), bps))
    chain = on_chain(ledger, [("splitOf", [a, b]) for a, b in cases], "uint256[]")
    mine = [local(lambda a=a, b=b: split_of(a, b)) for a, b in cases]
    mismatches = [(a, b, c, m) for (a, b), c, m in zip(cases, chain, mine, strict=True) if c != m]
    assert not mismatches, mismatches[:5]
    with_remainder = [a for (a, b), (kind, shares) in zip(cases, chain, strict=True)
                      if kind == "ok" and sum(a * x // 10_000 for x in b) != a]
    assert len(with_remainder) > SPLITS // 2  # most cases leave fen to hand out by the largest-remainder rule
    assert any(kind == "revert" for kind, _ in chain)  # bps above 10,000 were exercised


def test_offer_book_sees_a_withdrawal(ledger: Ledger, roles: dict[str, LocalAccount],
                                      new_account: Callable[[], LocalAccount]) -> None:
    listed = listed_product(ledger, roles, new_account)
    offer = uid("offer")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 7), (10, 5)], [(new_account().address, 10_000)])
    first = ledger.offers.get(offer)
    assert first.active and first.price_of(10) == 50 and ledger.offers.get(offer) is first  # cached
    ledger.withdraw_offer(listed.operator, offer)
    ledger.offers.refresh(force=True)  # what `recheck_s` later does by itself
    again = ledger.offers.get(offer)
    assert not again.active and again.block > first.block


def test_unlimited_allowance_is_kept_until_the_next_approval(ledger: Ledger,
                                                             new_account: Callable[[], LocalAccount]) -> None:
    buyer = new_account()
    key = bytes(12) + bytes.fromhex(buyer.address[2:])
    assert ledger.allowance(buyer.address) == 0 and ledger.allowances.hit(key) is None  # limited: read each time
    ledger.send(buyer, ledger.acts.approve_settlement())
    ledger.allowances.refresh(force=True)
    assert ledger.allowance(buyer.address) == MAX_UINT256 and ledger.allowances.hit(key)  # kept
    ledger.send(buyer, ledger.acts.approve_settlement(5))
    ledger.allowances.refresh(force=True)  # what the next use does by itself within `recheck_s`
    assert ledger.allowances.hit(key) is None and ledger.allowance(buyer.address) == 5
