"""Gas of one license purchase relayed through the trusted forwarder against the same purchase sent directly.

Each buyer is fresh, holds test fen and has approved Settlement (directly, or as a relayed signed act, so
its forwarder nonce is already in use as in steady state). The offer splits payment three ways.
Usage: `python bench/forwarder_gas.py [--quick] [--buyers N]`. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402

from ledger.forwarder import Relayer  # noqa: E402
from ledger.runtime import ChainConfig, ChainRuntime  # noqa: E402
from tests.conftest import account_factory, grant_roles, uid  # noqa: E402
from tests.ledger.chain_helpers import H1, listed_product  # noqa: E402


def run(buyers: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home, \
            ChainRuntime(ChainConfig(home=Path(home), persist_state=False, scrypt_n=2**10)) as rt:
        assert rt.ledger is not None and rt.deployer is not None and rt.governance is not None
        ledger, gov = rt.ledger, rt.governance
        make = account_factory(ledger, rt.deployer)
        roles = grant_roles(ledger, gov, make)
        listed = listed_product(ledger, roles, make)
        op = listed.operator
        offer = uid("offer")
        payees = [(op.address, 7000), (roles["authority"].address, 2000), (roles["exchange"].address, 1000)]
        ledger.publish_offer(op, offer, listed.product, [(1, 1234)], payees)
        relayer = Relayer(ledger, make())

        direct, relayed, approve_direct, approve_relayed = [], [], [], []
        for _ in range(buyers):
            buyer = make()
            ledger.mint(gov, buyer.address, 10**9)
            approve_direct.append(ledger.send(buyer, ledger.acts.approve_settlement()).gas_used)
            direct.append(ledger.send(buyer, ledger.acts.buy_license(uid("lic"), offer, 1, H1)).gas_used)

            signer = Account.create()  # holds no ether at all
            ledger.mint(gov, signer.address, 10**9)
            approve = ledger.acts.approve_settlement()
            approve_relayed.append(relayer.relay(relayer.sign(signer, relayer.prepare(signer.address, approve)),
                                                 approve).gas_used)
            buy = ledger.acts.buy_license(uid("lic"), offer, 1, H1)
            relayed.append(relayer.relay(relayer.sign(signer, relayer.prepare(signer.address, buy)), buy).gas_used)

    def mean(xs: list[int]) -> int:
        return round(statistics.mean(xs))

    return {
        "bench": "forwarder_gas",
        "buyers": buyers,
        "gas_per_purchase_direct": mean(direct),
        "gas_per_purchase_relayed": mean(relayed),
        "relay_overhead_gas": mean(relayed) - mean(direct),
        "relay_overhead_pct": round(100 * (mean(relayed) / mean(direct) - 1), 1),
        "gas_approve_direct": mean(approve_direct),
        "gas_approve_relayed_first_act": mean(approve_relayed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 buyers per mode")
    parser.add_argument("--buyers", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(run(args.buyers or (3 if args.quick else 10))))


if __name__ == "__main__":
    main()
