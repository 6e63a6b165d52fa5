"""ledger.merkle: the compact tree, and property tests of the proofs and verifiers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    CompactTree,
    MerkleError,
    MerkleLevels,
    hash_leaves,
    root,
    verify_consistency,
    verify_inclusion,
)
from tests.utils.merkle_reference import (
    LEAVES,
    MAX_N,
    ROOTS,
    flip,
    ref_mth,
    ref_path,
    ref_proof,
)

# --------------------------------------------------------------------------
# CompactTree
# --------------------------------------------------------------------------


def test_compact_tree_matches_root_at_every_size_and_survives_serialisation() -> None:
    tree = CompactTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    for n in range(1, MAX_N + 1):
        tree.append(LEAVES[n - 1])
        assert tree.size == n
        assert tree.root() == ROOTS[n], n
        size, nodes = tree.to_state()
        assert size == n and len(nodes) == bin(n).count("1")
        restored = CompactTree.from_state(size, list(nodes))
        assert restored.root() == ROOTS[n]
        # Resume after restore: appending the remaining leaves gives the same roots.
        restored.extend(LEAVES[n:MAX_N])
        assert restored.root() == ROOTS[MAX_N]
        tree = CompactTree.from_state(*tree.to_state())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12))
def test_extend_in_any_pieces_is_appending_one_by_one(pieces: list[int]) -> None:
    """`extend` adds whole perfect subtrees where the size is aligned: the frontier matches leaf by leaf."""
    leaves = hash_leaves(i.to_bytes(4, "big") for i in range(sum(pieces)))
    batched, single, at = CompactTree(), CompactTree(), 0
    for k in pieces:
        batched.extend(leaves[at:at + k])
        for h in leaves[at:at + k]:
            single.append(h)
        at += k
        assert batched.to_state() == single.to_state() and batched.root() == root(leaves[:at])


def test_compact_tree_consistency_proof_from_its_frontier_alone() -> None:
    """The Anchorer's proof: old frontier + the new leaves give the RFC 6962 proof, for every 0 <= m <= n."""
    for n in range(MAX_N + 1):
        for m in range(n + 1):
            tree = CompactTree.from_state(*_grown(m).to_state())  # only the frontier survives
            proof = tree.consistency_proof(LEAVES[m:n])
            assert proof == (ref_proof(m, LEAVES[:n]) if 0 < m < n else []), (m, n)
            assert tree.size == m and tree.root() == ROOTS[m], "the tree itself is not changed"
            if 0 < m < n:
                assert verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)
    with pytest.raises(MerkleError):
        _grown(3).consistency_proof([b"short"])


def _grown(m: int) -> CompactTree:
    tree = CompactTree()
    tree.extend(LEAVES[:m])
    return tree


def test_compact_tree_rejects_bad_state_and_bad_leaves() -> None:
    tree = CompactTree()
    tree.extend(LEAVES[:6])
    size, nodes = tree.to_state()
    bad_states: list[tuple[object, object]] = [
        (size, nodes[:1]),  # too few nodes
        (size, [*nodes, nodes[0]]),  # too many
        (size + 1, nodes),  # 7 needs three nodes
        (-1, []),
        (True, [nodes[0]]),
        (size, [nodes[0], nodes[1].upper()]),
        (size, [nodes[0], nodes[1][:-2]]),
        (size, [nodes[0], "zz" * 32]),
        (size, [nodes[0], " " + nodes[1][:-1]]),
        (size, [nodes[0], bytes.fromhex(nodes[1])]),
        (size, "".join(nodes)),
    ]
    for state in bad_states:
        with pytest.raises(MerkleError):
            CompactTree.from_state(*state)  # type: ignore[arg-type]
    with pytest.raises(MerkleError):
        tree.append(b"\x00" * 31)
    assert tree.size == 6 and tree.root() == ROOTS[6]  # failed append left it intact


def test_larger_tree_compact_levels_and_root_agree() -> None:
    n = (1 << 12) + 37
    leaves = hash_leaves(b"%d" % i for i in range(n))
    tree = CompactTree()
    tree.extend(leaves)
    levels = MerkleLevels(leaves)
    assert tree.root() == levels.root() == root(leaves) == ref_mth(leaves)
    for m in (0, 1, 2047, 2048, 4095, 4096, n - 1):
        assert verify_inclusion(leaves[m], m, n, levels.inclusion_proof(m), tree.root())
    for m in (1, 1000, 2048, 4096, n - 1):
        proof = levels.consistency_proof(m)
        assert verify_consistency(m, n, root(leaves[:m]), tree.root(), proof)


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

entries = st.lists(st.binary(max_size=16), min_size=1, max_size=300)


@settings(max_examples=60, deadline=None)
@given(data=entries, pick=st.integers(min_value=0), bit=st.integers(0, 255))
def test_property_inclusion(data: list[bytes], pick: int, bit: int) -> None:
    leaves = hash_leaves(data)
    n = len(leaves)
    m = pick % n
    levels = MerkleLevels(leaves)
    head = levels.root()
    proof = levels.inclusion_proof(m)
    assert proof == ref_path(m, leaves)
    assert verify_inclusion(leaves[m], m, n, proof, head)
    if proof:
        i = bit % len(proof)
        tampered = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
        assert not verify_inclusion(leaves[m], m, n, tampered, head)
    assert not verify_inclusion(flip(leaves[m], bit), m, n, proof, head)


@settings(max_examples=60, deadline=None)
@given(data=entries, old_pick=st.integers(min_value=0), bit=st.integers(0, 255))
def test_property_consistency(data: list[bytes], old_pick: int, bit: int) -> None:
    leaves = hash_leaves(data)
    n = len(leaves)
    m = old_pick % (n + 1)
    levels = MerkleLevels(leaves)
    proof = levels.consistency_proof(m)
    old, new = levels.root(m), levels.root()
    assert verify_consistency(m, n, old, new, proof)
    if 0 < m < n:
        assert proof == ref_proof(m, leaves)
        i = bit % len(proof)
        tampered = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
        assert not verify_consistency(m, n, old, new, tampered)
    if m > 0:  # the empty tree is a prefix of every tree, so only then can `new` be wrong
        assert not verify_consistency(m, n, old, flip(new, bit), proof)
    assert not verify_consistency(m, n, flip(old, bit), new, proof)


@settings(max_examples=40, deadline=None)
@given(data=entries, cut=st.integers(min_value=0))
def test_property_compact_tree_resume(data: list[bytes], cut: int) -> None:
    leaves = hash_leaves(data)
    k = cut % (len(leaves) + 1)
    first = CompactTree()
    first.extend(leaves[:k])
    resumed = CompactTree.from_state(*first.to_state())
    resumed.extend(leaves[k:])
    assert resumed.size == len(leaves)
    assert resumed.root() == root(leaves) == ref_mth(leaves)


@settings(max_examples=200, deadline=None)
@given(
    leaf=st.binary(min_size=30, max_size=34),
    index=st.integers(-3, 70),
    size=st.integers(-3, 70),
    proof=st.lists(st.binary(min_size=31, max_size=33), max_size=8),
    head=st.binary(min_size=31, max_size=33),
)
def test_property_verifiers_never_raise(leaf: bytes, index: int, size: int, proof: list[bytes], head: bytes) -> None:
    assert verify_inclusion(leaf, index, size, proof, head) in (True, False)
    assert verify_consistency(index, size, leaf, head, proof) in (True, False)
    # A random proof for a real leaf essentially never verifies.
    if 0 < size <= MAX_N and 0 <= index < size and all(len(p) == 32 for p in proof):
        assert not verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size]) or (
            proof == ref_path(index, LEAVES[:size])
        )
