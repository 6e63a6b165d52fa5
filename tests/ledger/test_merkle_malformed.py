"""ledger.merkle: malformed proofs and impossible requests are refused, for every size and index."""

from __future__ import annotations

import hashlib

import pytest

from ledger.merkle import (
    MerkleError,
    MerkleLevels,
    ProofError,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from tests.utils.merkle_reference import (
    LEAVES,
    LEVELS,
    MAX_N,
    ROOTS,
    flip,
    ref_verify_consistency,
    ref_verify_inclusion,
)

# --------------------------------------------------------------------------
# Malformed proofs are rejected, for every size and index
# --------------------------------------------------------------------------


def test_malformed_inclusion_proofs_rejected() -> None:
    junk = hashlib.sha256(b"junk").digest()
    for n in range(1, MAX_N + 1):
        for m in range(n):
            proof = LEVELS.inclusion_proof(m, n)
            leaf, head = LEAVES[m], ROOTS[n]
            bad: list[tuple[bytes, int, int, object, bytes]] = [
                (leaf, m, n, [*proof, junk], head),  # extended
                (leaf, m, n, proof, flip(head, m)),  # wrong root
                (flip(leaf, n), m, n, proof, head),  # wrong leaf
                (leaf, n, n, proof, head),  # index == size
                (leaf, -1, n, proof, head),
                (leaf, m, 0, proof, head),
                (leaf, m, n, [*proof, proof[0][:31]] if proof else [b""], head),
                (leaf[:31], m, n, proof, head),
                (leaf, m, n, proof, head + b"\x00"),
                (leaf, m, n, b"".join(proof), head),  # not a list
            ]
            if proof:
                bad.append((leaf, m, n, proof[:-1], head))  # truncated
                bad.append((leaf, m, n, proof[1:], head))  # truncated at the bottom
                for i in range(len(proof)):
                    tampered = list(proof)
                    tampered[i] = flip(tampered[i], 8 * i + m)
                    bad.append((leaf, m, n, tampered, head))
            for other in (m - 1, m + 1):
                if 0 <= other < n:
                    bad.append((leaf, other, n, proof, head))  # wrong index
            for other_n in (n - 1, n + 1):
                if m < other_n <= MAX_N:
                    bad.append((leaf, m, other_n, proof, ROOTS[other_n]))  # wrong size
            for case in bad:
                assert verify_inclusion(*case) is False, (m, n, case)  # type: ignore[arg-type]


def test_malformed_consistency_proofs_rejected() -> None:
    junk = hashlib.sha256(b"junk").digest()
    for n in range(2, MAX_N + 1):
        for m in range(1, n):
            proof = LEVELS.consistency_proof(m, n)
            old, new = ROOTS[m], ROOTS[n]
            bad: list[tuple[int, int, bytes, bytes, object]] = [
                (m, n, old, new, []),  # empty
                (m, n, old, new, proof[:-1]),  # truncated
                (m, n, old, new, proof[1:]),
                (m, n, old, new, [*proof, junk]),  # extended
                (m, n, old, new, [junk, *proof]),
                (n, m, new, old, proof),  # sizes out of order
                (m, n, new, old, proof),  # roots swapped
                (m, n, flip(old), new, proof),
                (m, n, old, flip(new), proof),
                (m, n, old[:31], new, proof),
                (m, n, old, new, [*proof[:-1], proof[-1][:31]]),  # short element
                (m, n, old, new, [*proof[:-1], proof[-1] + b"\x00"]),  # long element
                (m, n, old, new, [p.hex() for p in proof]),  # wrong element type
                (-m, n, old, new, proof),
            ]
            for i in range(len(proof)):
                tampered = list(proof)
                tampered[i] = flip(tampered[i], 8 * i + m)
                bad.append((m, n, old, new, tampered))
            for other_m in (m - 1, m + 1):
                if 0 < other_m < n:
                    bad.append((other_m, n, ROOTS[other_m], new, proof))  # wrong old size
            for other_n in (n - 1, n + 1):
                if m < other_n <= MAX_N:
                    bad.append((m, other_n, old, ROOTS[other_n], proof))  # wrong new size
            for case in bad:
                assert verify_consistency(*case) is False, (m, n, case)  # type: ignore[arg-type]


def test_size_claims_agree_with_reference() -> None:
    """A proof checked against another size: accept exactly when the reference does.

    RFC 9162 proofs bind the size only through the shape of the path, so some
    claims do verify (e.g. leaf 0 of 5 and of 6 have the same path); the verifier
    must not be looser or stricter than the RFC 6962 definitions.
    """
    n_max = 33
    accepted = rejected = 0
    for n in range(1, n_max + 1):
        for m in range(n):
            proof = LEVELS.inclusion_proof(m, n)
            for claim in range(m + 1, n_max + 1):
                got = verify_inclusion(LEAVES[m], m, claim, proof, ROOTS[n])
                assert got == ref_verify_inclusion(LEAVES[m], m, claim, proof, ROOTS[n])
                accepted, rejected = accepted + got, rejected + (not got)
        for m in range(1, n):
            proof = LEVELS.consistency_proof(m, n)
            for claim in range(m + 1, n_max + 1):
                got = verify_consistency(m, claim, ROOTS[m], ROOTS[n], proof)
                assert got == ref_verify_consistency(m, claim, ROOTS[m], ROOTS[n], proof)
                accepted, rejected = accepted + got, rejected + (not got)
            for claim in range(1, n):
                got = verify_consistency(claim, n, ROOTS[m], ROOTS[n], proof)
                assert got == ref_verify_consistency(claim, n, ROOTS[m], ROOTS[n], proof)
    assert not verify_consistency(2, 8, ROOTS[2], ROOTS[4], LEVELS.consistency_proof(2, 4))
    assert rejected > accepted > 0


def test_verifiers_reject_non_int_sizes_without_raising() -> None:
    proof = LEVELS.inclusion_proof(1, 4)
    assert verify_inclusion(LEAVES[1], 1, 4, proof, ROOTS[4])
    assert verify_inclusion(LEAVES[1], 1, 4, tuple(proof), ROOTS[4])
    assert not verify_inclusion(LEAVES[1], True, 4, proof, ROOTS[4])
    assert not verify_inclusion(LEAVES[1], 1.0, 4, proof, ROOTS[4])  # type: ignore[arg-type]
    assert not verify_inclusion(LEAVES[1], 1, "4", proof, ROOTS[4])  # type: ignore[arg-type]
    assert not verify_inclusion(None, 1, 4, proof, ROOTS[4])  # type: ignore[arg-type]
    assert not verify_inclusion(LEAVES[1], 1, 4, None, ROOTS[4])  # type: ignore[arg-type]
    assert not verify_inclusion(LEAVES[1], 1, 4, [*proof[:2], None], ROOTS[4])  # type: ignore[list-item]
    cproof = LEVELS.consistency_proof(3, 7)
    assert verify_consistency(3, 7, ROOTS[3], ROOTS[7], cproof)
    assert not verify_consistency(3.0, 7, ROOTS[3], ROOTS[7], cproof)  # type: ignore[arg-type]
    assert not verify_consistency(3, None, ROOTS[3], ROOTS[7], cproof)  # type: ignore[arg-type]
    assert not verify_consistency(3, 7, ROOTS[3], ROOTS[7], "abc")  # type: ignore[arg-type]


def test_generators_reject_impossible_requests() -> None:
    with pytest.raises(ProofError):
        inclusion_proof(LEAVES, 5, 5)
    with pytest.raises(ProofError):
        inclusion_proof(LEAVES, -1, 5)
    with pytest.raises(ProofError):
        inclusion_proof(LEAVES, 0, MAX_N + 1)
    with pytest.raises(ProofError):
        consistency_proof(LEAVES, 6, 5)
    with pytest.raises(ProofError):
        consistency_proof(LEAVES, -1, 5)
    with pytest.raises(ProofError):
        consistency_proof(LEAVES, 1, MAX_N + 1)
    with pytest.raises(ProofError):
        LEVELS.root(MAX_N + 1)
    with pytest.raises(ProofError):
        LEVELS.leaf(MAX_N)
    assert LEVELS.leaf(7) == LEAVES[7]
    with pytest.raises(MerkleError):
        root([LEAVES[0], b"short"])
    with pytest.raises(MerkleError):
        MerkleLevels([LEAVES[0][:16] + LEAVES[1], LEAVES[2][:16]])  # 48+16: bad split
    assert issubclass(ProofError, ValueError)


