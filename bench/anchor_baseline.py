"""Baseline: one chain transaction per ledger record, through the ledger client, on embedded Anvil.

This is what the batched anchoring (bench/anchoring.py) must beat. Each transaction carries the
consistency proof from the previous checkpoint, as the contract requires. Last line: one JSON object.
Usage: python bench/anchor_baseline.py [--quick] [--records N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ledger.canonical import canonical_json
from ledger.merkle import CompactTree, leaf_hash
from ledger.runtime import ChainConfig, ChainRuntime


def run(records: int) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory() as home, ChainRuntime(ChainConfig(home=Path(home), persist_state=False)) as rt:
        assert rt.ledger is not None and rt.recorder is not None
        ledger, recorder = rt.ledger, rt.recorder
        gas = 0
        tree = CompactTree()
        start = time.perf_counter()
        for seq in range(records):
            leaf = leaf_hash(canonical_json({"kind": "query", "seq": seq, "subject": "bench"}))
            proof = tree.consistency_proof([leaf])
            tree.append(leaf)
            gas += ledger.anchor(recorder, tree.size, tree.root(), proof).gas_used
        elapsed = time.perf_counter() - start
    return {
        "bench": "anchor_baseline",
        "mode": "one transaction per record",
        "records": records,
        "seconds": round(elapsed, 3),
        "records_per_s": round(records / elapsed, 1),
        "gas_per_record": round(gas / records),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 records (under a minute)")
    parser.add_argument("--records", type=int, default=None)
    args = parser.parse_args()
    n = args.records or (300 if args.quick else 3000)
    print(json.dumps(run(n)))


if __name__ == "__main__":
    main()
