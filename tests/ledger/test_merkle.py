"""ledger.merkle: hashing, Certificate Transparency vectors, and exhaustive agreement with an independent RFC 6962
reference."""

from __future__ import annotations

import hashlib

import pytest

from ledger.merkle import (
    EMPTY_ROOT,
    MerkleLevels,
    consistency_proof,
    hash_leaves,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from tests.utils.merkle_reference import (
    CT_CONSISTENCY,
    CT_INCLUSION,
    CT_LEAVES,
    CT_ROOTS,
    LEAVES,
    LEVELS,
    MAX_N,
    ROOTS,
    ref_mth,
    ref_path,
    ref_proof,
    ref_verify_consistency,
    ref_verify_inclusion,
)

# --------------------------------------------------------------------------
# Hashing and known vectors
# --------------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = LEAVES[0], LEAVES[1]
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert node_hash(a, b) != node_hash(b, a)
    # Domain separation: a leaf whose data is 0x01||a||b does not hash like the node.
    assert leaf_hash(b"\x01" + a + b) != node_hash(a, b)
    assert hash_leaves([b"x", b""]) == [leaf_hash(b"x"), leaf_hash(b"")]


def test_ct_roots_every_size() -> None:
    for n, expected in enumerate(CT_ROOTS):
        assert root(CT_LEAVES[:n]) == expected, n
        assert ref_mth(CT_LEAVES[:n]) == expected, n
        assert MerkleLevels(CT_LEAVES).root(n) == expected, n


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_ct_inclusion_vectors(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    assert inclusion_proof(CT_LEAVES, index, size) == expected
    assert verify_inclusion(CT_LEAVES[index], index, size, expected, CT_ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_ct_consistency_vectors(old: int, new: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    assert consistency_proof(CT_LEAVES, old, new) == expected
    assert verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], expected)


def test_split_is_largest_power_of_two_below_n() -> None:
    # Five leaves: RFC 6962 splits 4+1; a midpoint (3+2) or duplicate-last tree differs.
    h = LEAVES[:5]
    rfc = node_hash(node_hash(node_hash(h[0], h[1]), node_hash(h[2], h[3])), h[4])
    assert root(h) == rfc
    bitcoin_style = node_hash(
        node_hash(node_hash(h[0], h[1]), node_hash(h[2], h[3])),
        node_hash(node_hash(h[4], h[4]), node_hash(h[4], h[4])),
    )
    assert root(h) != bitcoin_style


# --------------------------------------------------------------------------
# Exhaustive agreement with the reference, sizes 1..70
# --------------------------------------------------------------------------


def test_roots_match_reference() -> None:
    assert root([]) == EMPTY_ROOT == LEVELS.root(0)
    for n in range(1, MAX_N + 1):
        assert root(LEAVES[:n]) == ROOTS[n]
        assert LEVELS.root(n) == ROOTS[n]
        assert MerkleLevels(LEAVES[:n]).root() == ROOTS[n]


def test_inclusion_proofs_match_reference_all_sizes_and_indices() -> None:
    levels = {n: MerkleLevels(LEAVES[:n]) for n in range(1, MAX_N + 1)}
    for n in range(1, MAX_N + 1):
        for m in range(n):
            ours = LEVELS.inclusion_proof(m, n)
            theirs = ref_path(m, LEAVES[:n])
            assert ours == theirs, (m, n)
            assert levels[n].inclusion_proof(m) == theirs, (m, n)  # full-size path
            assert verify_inclusion(LEAVES[m], m, n, theirs, ROOTS[n]), (m, n)
            assert ref_verify_inclusion(LEAVES[m], m, n, ours, ROOTS[n]), (m, n)
    assert inclusion_proof(LEAVES, 3, 11) == ref_path(3, LEAVES[:11])


def test_consistency_proofs_match_reference_all_size_pairs() -> None:
    levels = {n: MerkleLevels(LEAVES[:n]) for n in range(1, MAX_N + 1)}
    for n in range(1, MAX_N + 1):
        for m in range(1, n):
            ours = LEVELS.consistency_proof(m, n)
            theirs = ref_proof(m, LEAVES[:n])
            assert ours == theirs, (m, n)
            assert levels[n].consistency_proof(m) == theirs, (m, n)
            assert verify_consistency(m, n, ROOTS[m], ROOTS[n], theirs), (m, n)
            assert ref_verify_consistency(m, n, ROOTS[m], ROOTS[n], ours), (m, n)
    assert consistency_proof(LEAVES, 5, 13) == ref_proof(5, LEAVES[:13])


def test_trivial_consistency() -> None:
    for n in range(MAX_N + 1):
        assert LEVELS.consistency_proof(0, n) == []
        assert LEVELS.consistency_proof(n, n) == []
        assert verify_consistency(0, n, EMPTY_ROOT, ROOTS[n], [])
        assert verify_consistency(n, n, ROOTS[n], ROOTS[n], [])
        assert not verify_consistency(0, n, EMPTY_ROOT, ROOTS[n], [EMPTY_ROOT])
        assert not verify_consistency(n, n, ROOTS[n], ROOTS[n], [ROOTS[n]])
    assert not verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    assert not verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])


