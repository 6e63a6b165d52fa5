"""License purchases on chain: relayed through the trusted forwarder against sent as the buyer's own transaction.

Measured, for each path: purchases per second (sequential `buyLicense`, each sent and its receipt awaited,
client work included: building the act, and for the relayed path preparing, signing, checking and relaying
it), mean gas per purchase (relayed: the relayer's whole `executeBatch` transaction), and JSON-RPC requests
per purchase; then relayed/direct for rate and gas.
How: a fresh Anvil with the contracts deployed as the tests do, roles granted by governance, a listed
product with a metered offer whose payment splits three ways (operator, provider, exchange). Each round
takes fresh buyers for each path, minted test fen by the dev token's minter, each approving Settlement
once (direct: its own transaction; relayed: a signed act, the buyer holding no ether at all); the buyers
then buy in turn, the two paths alternating purchase by purchase so machine load hits both alike. A
warm-up purchase per path runs first (the payees' first credit costs more gas). Rates: median over
rounds (the ratio is that of the medians); gas: mean over all purchases.
Usage: `python bench/purchase_paths.py [--quick] [--rounds R] [--buyers N] [--per-buyer P]`; the last line
is one JSON object. bench/trading.py runs it as its chain-level phase.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.middleware import Web3Middleware  # noqa: E402

from ledger.client import Receipt  # noqa: E402
from ledger.contracts import Act, Ledger  # noqa: E402
from ledger.forwarder import Relayer  # noqa: E402
from ledger.runtime import ChainConfig, ChainRuntime  # noqa: E402
from tests.conftest import account_factory, grant_roles  # noqa: E402
from tests.ledger.chain_helpers import H1, listed_product  # noqa: E402
from tests.utils.common import uid  # noqa: E402

QUICK = (3, 4, 2)  # rounds, buyers per path per round, purchases per buyer
FULL = (5, 8, 3)
QUANTITY = 1001  # metered: the second tier's unit price
FEN = 10**12  # minted to each buyer
PATHS = ("direct", "relayed")
BUILD_CACHE = ROOT / ".provex" / "build"  # the dev home's compile cache (keyed by sources and compiler)


@dataclass
class Market:
    """A chain with one published 3-way-split metered offer, and the exchange's relayer."""

    ledger: Ledger
    minter: LocalAccount  # holds the dev token's MINTER_ROLE
    make: Callable[[], LocalAccount]  # a fresh account funded with ether
    relayer: Relayer
    offer: str
    rpcs: Callable[[], int]  # JSON-RPC requests sent so far


def rpc_counter(w3: Web3) -> Callable[[], int]:
    """Count every JSON-RPC request `w3` sends from now on."""
    sent = [0]

    class Count(Web3Middleware):
        def request_processor(self, method: Any, params: Any) -> Any:
            sent[0] += 1
            return method, params

    w3.middleware_onion.add(Count, "bench_rpc_count")
    return lambda: sent[0]


def open_market(rt: ChainRuntime) -> Market:
    """Roles, resource → authorization → product → listed, then the operator publishes the offer."""
    assert rt.ledger is not None and rt.deployer is not None and rt.governance is not None
    ledger, governance = rt.ledger, rt.governance
    make = account_factory(ledger, rt.deployer)
    roles = grant_roles(ledger, governance, make)
    listed = listed_product(ledger, roles, make)
    provider = Account.create().address  # a payee only: it never sends anything
    payees = [(listed.operator.address, 3333), (provider, 3333), (roles["exchange"].address, 3334)]
    offer = uid("offer")
    ledger.publish_offer(listed.operator, offer, listed.product, [(1, 7), (1000, 5)], payees)
    assert rt.minter is not None  # the dev token's minter, a dev key of its own
    return Market(ledger, rt.minter, make, Relayer(ledger, make()), offer, rpc_counter(ledger.client.w3))


def relay(m: Market, signer: LocalAccount, act: Act) -> Receipt:
    """What the exchange does with a buyer's act: prepare it, have the buyer sign it, relay it."""
    r = m.relayer
    return r.relay(r.sign(signer, r.prepare(signer.address, act)), act)


def new_buyer(m: Market, path: str) -> tuple[LocalAccount, int]:
    """A buyer holding test fen that has approved Settlement once; the approval's gas."""
    buyer: LocalAccount = m.make() if path == "direct" else Account.create()  # a relayed buyer needs no ether
    m.ledger.mint(m.minter, buyer.address, FEN)
    approve = m.ledger.acts.approve_settlement()
    receipt = m.ledger.send(buyer, approve) if path == "direct" else relay(m, buyer, approve)
    return buyer, receipt.gas_used


def buy(m: Market, path: str, buyer: LocalAccount) -> int:
    """One purchase, sent and its receipt awaited; the gas of the whole transaction."""
    act = m.ledger.acts.buy_license(uid("lic"), m.offer, QUANTITY, H1)
    receipt = m.ledger.send(buyer, act) if path == "direct" else relay(m, buyer, act)
    return receipt.gas_used


@dataclass
class Tally:
    """One path's purchases so far."""

    seconds: float = 0.0
    rpcs: int = 0
    gas: list[int] = field(default_factory=list)
    approve_gas: list[int] = field(default_factory=list)


def run_round(m: Market, buyers: int, per_buyer: int, first: str) -> dict[str, Tally]:
    """Fresh buyers for each path; each buys `per_buyer` licenses in turn, the paths alternating."""
    tally = {path: Tally() for path in PATHS}
    accounts: dict[str, list[LocalAccount]] = {path: [] for path in PATHS}
    for path in PATHS:
        for _ in range(buyers):
            buyer, gas = new_buyer(m, path)
            accounts[path].append(buyer)
            tally[path].approve_gas.append(gas)
    order = [first, *(p for p in PATHS if p != first)]
    for _ in range(per_buyer):
        for i in range(buyers):
            for path in order:
                t0, sent = time.perf_counter(), m.rpcs()
                gas = buy(m, path, accounts[path][i])
                tally[path].seconds += time.perf_counter() - t0
                tally[path].rpcs += m.rpcs() - sent
                tally[path].gas.append(gas)
            order.reverse()
    return tally


def summarize(rounds: list[dict[str, Tally]], buyers: int, per_buyer: int) -> dict[str, Any]:
    """Median purchases/s over rounds and mean gas over all purchases, per path, with relayed/direct."""
    rate = {p: statistics.median(buyers * per_buyer / r[p].seconds for r in rounds) for p in PATHS}
    gas = {p: statistics.mean(g for r in rounds for g in r[p].gas) for p in PATHS}
    approve = {p: statistics.mean(g for r in rounds for g in r[p].approve_gas) for p in PATHS}
    rpcs = {p: sum(r[p].rpcs for r in rounds) / (len(rounds) * buyers * per_buyer) for p in PATHS}
    return {
        "chain_rounds": len(rounds), "chain_buyers_per_path_per_round": buyers,
        "chain_purchases_per_buyer": per_buyer,
        "chain_purchases_per_s_direct": round(rate["direct"], 2),
        "chain_purchases_per_s_relayed": round(rate["relayed"], 2),
        "chain_purchases_per_s_ratio": round(rate["relayed"] / rate["direct"], 3),
        "chain_gas_per_purchase_direct": round(gas["direct"]),
        "chain_gas_per_purchase_relayed": round(gas["relayed"]),
        "chain_gas_per_purchase_ratio": round(gas["relayed"] / gas["direct"], 4),
        "chain_rpcs_per_purchase_direct": round(rpcs["direct"], 1),
        "chain_rpcs_per_purchase_relayed": round(rpcs["relayed"], 1),
        "chain_gas_approve_direct": round(approve["direct"]),
        "chain_gas_approve_relayed_first_act": round(approve["relayed"]),
    }


def run(rounds: int, buyers: int, per_buyer: int) -> dict[str, Any]:
    """Start a chain, open the market, warm up, run the rounds (alternating which path goes first)."""
    with tempfile.TemporaryDirectory(prefix="provex-bench-paths-") as home, \
            ChainRuntime(ChainConfig(home=Path(home), persist_state=False, scrypt_n=2**10,
                                     build_cache=BUILD_CACHE)) as rt:
        m = open_market(rt)
        run_round(m, 1, 1, "direct")  # warm-up: payees' balances and the relayer's caches
        results = []
        for k in range(rounds):
            results.append(run_round(m, buyers, per_buyer, PATHS[k % 2]))
            rates = {p: round(buyers * per_buyer / results[-1][p].seconds, 2) for p in PATHS}
            print(f"round {k + 1}/{rounds}: purchases/s {rates}", file=sys.stderr)
    return summarize(results, buyers, per_buyer)


def measure(quick: bool) -> dict[str, Any]:
    """The phase as bench/trading.py runs it."""
    return run(*(QUICK if quick else FULL))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"rounds, buyers, per-buyer = {QUICK} (else {FULL})")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--buyers", type=int, default=None, help="fresh buyers per path per round")
    parser.add_argument("--per-buyer", type=int, default=None, help="licenses each buyer buys")
    args = parser.parse_args()
    rounds, buyers, per_buyer = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    result = run(args.rounds or rounds, args.buyers or buyers, args.per_buyer or per_buyer)
    print(f"done in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    print(json.dumps({"bench": "purchase_paths", **result}))


if __name__ == "__main__":
    main()
