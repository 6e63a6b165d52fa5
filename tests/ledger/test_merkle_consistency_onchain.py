"""contracts/MerkleConsistency.sol agrees with ledger.merkle.verify_consistency, case by case, via eth_call."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledger.contracts import Ledger
from ledger.merkle import EMPTY_ROOT, MerkleLevels, leaf_hash, verify_consistency
from tests.ledger.checkpoint_helpers import consistency_harness

N = 40
Case = tuple[int, int, bytes, bytes, list[bytes]]


def cases(levels: MerkleLevels, rng: random.Random) -> Iterator[tuple[Case, bool | None]]:
    """Every pair 1 <= m < n <= N with its proof (must hold), then tampered variants (compared only)."""
    for n in range(2, N + 1):
        for m in range(1, n):
            old, new, proof = levels.root(m), levels.root(n), levels.consistency_proof(m, n)
            yield (m, n, old, new, proof), True
            i = rng.randrange(len(proof))
            flipped = [*proof[:i], bytes([proof[i][0] ^ 128]) + proof[i][1:], *proof[i + 1:]]
            yield (m, n, old, new, flipped), None
            yield (m, n, old, new, proof[:-1]), None
            yield (m, n, old, new, proof[1:]), None
            yield (m, n, old, new, [*proof, levels.leaf(0)]), None
            yield (m, n, old, new, proof[::-1]), None
            yield (m, n, new, old, proof), None
            yield (m, n + 1, old, levels.root(min(n + 1, N)), proof), None
            yield (m + 1, n, levels.root(m + 1), new, proof), None
            yield (m, n, old, levels.root(n - 1), proof), None
    for s in (0, 1, 5, 8, N):  # the trivial cases and sizes out of order
        yield (s, s, levels.root(s), levels.root(s), []), True
        yield (s, s, levels.root(s), levels.root(s), [levels.leaf(0)]), None
        yield (0, s, EMPTY_ROOT, levels.root(s), []), True
        yield (0, s, levels.leaf(0), levels.root(s), []), None
        yield (s + 1, s, levels.root(s), levels.root(s), []), None


def test_solidity_and_python_verifiers_agree(ledger: Ledger, deployer: LocalAccount, tmp_path: Path,
                                             build_cache: Path) -> None:
    harness = consistency_harness(ledger, deployer, tmp_path, build_cache)
    levels = MerkleLevels(leaf_hash(b"leaf %d" % i) for i in range(N))
    all_cases = list(cases(levels, random.Random(6962)))
    got: list[bool] = []
    for k in range(0, len(all_cases), 400):
        chunk = [c for c, _ in all_cases[k:k + 400]]
        got.extend(ledger.client.call(harness.functions.verifyMany(chunk)))
    assert len(got) == len(all_cases) > 7000
    for ((m, n, old, new, proof), expected), on_chain in zip(all_cases, got, strict=True):
        off_chain = verify_consistency(m, n, old, new, proof)
        assert on_chain == off_chain, (m, n, len(proof))
        if expected is not None:
            assert on_chain is expected, (m, n)
    assert sum(got) >= N * (N - 1) // 2
