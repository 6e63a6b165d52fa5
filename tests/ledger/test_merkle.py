"""Tests for ledger.merkle against an independent RFC 6962 reference and CT vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    CompactTree,
    MerkleError,
    MerkleLevels,
    ProofError,
    consistency_proof,
    hash_leaves,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --------------------------------------------------------------------------
# Independent reference: RFC 6962 section 2.1, written from the definitions.
# Works on leaf hashes (MTH of one leaf hash is that hash).
# --------------------------------------------------------------------------


def ref_h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_k(n: int) -> int:
    """Largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return ref_h(b"")
    if len(d) == 1:
        return d[0]
    k = ref_k(len(d))
    return ref_h(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = ref_k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = ref_k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


def ref_verify_inclusion(leaf: bytes, m: int, n: int, path: list[bytes], head: bytes) -> bool:
    """Rebuild the root by walking PATH's recursion backwards."""

    def rebuild(m: int, n: int, path: list[bytes]) -> bytes | None:
        if n == 1:
            return leaf if not path else None
        if not path:
            return None
        k = ref_k(n)
        if m < k:
            left = rebuild(m, k, path[:-1])
            return None if left is None else ref_h(b"\x01" + left + path[-1])
        right = rebuild(m - k, n - k, path[:-1])
        return None if right is None else ref_h(b"\x01" + path[-1] + right)

    return 0 <= m < n and rebuild(m, n, path) == head


def ref_verify_consistency(m: int, n: int, old: bytes, new: bytes, proof: list[bytes]) -> bool:
    """Rebuild both roots by walking SUBPROOF's recursion backwards (0 < m < n)."""

    def rebuild(m: int, n: int, proof: list[bytes], b: bool) -> tuple[bytes, bytes] | None:
        if m == n:
            if b:
                return (old, old) if not proof else None
            return (proof[0], proof[0]) if len(proof) == 1 else None
        if not proof:
            return None
        k = ref_k(n)
        if m <= k:
            sub = rebuild(m, k, proof[:-1], b)
            return None if sub is None else (sub[0], ref_h(b"\x01" + sub[1] + proof[-1]))
        sub = rebuild(m - k, n - k, proof[:-1], False)
        if sub is None:
            return None
        return ref_h(b"\x01" + proof[-1] + sub[0]), ref_h(b"\x01" + proof[-1] + sub[1])

    return 0 < m < n and rebuild(m, n, proof, True) == (old, new)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

MAX_N = 70
LEAVES = [leaf_hash(b"provex-leaf-%d" % i) for i in range(MAX_N)]
ROOTS = [ref_mth(LEAVES[:n]) for n in range(MAX_N + 1)]
LEVELS = MerkleLevels(LEAVES)

# Certificate Transparency / transparency-dev test leaves and roots for sizes 0..8.
CT_ENTRIES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_LEAVES = hash_leaves(CT_ENTRIES)
CT_ROOTS = [
    bytes.fromhex(x)
    for x in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
CT_INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CT_CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def flip(b: bytes, bit: int = 0) -> bytes:
    out = bytearray(b)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


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
