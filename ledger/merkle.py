"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and verification.

Leaves are hashed as ``SHA-256(0x00 || data)``, interior nodes as
``SHA-256(0x01 || left || right)``; a tree of ``n > 1`` leaves splits at the
largest power of two smaller than ``n``; the empty tree's root is
``SHA-256(b"")``.

* ``root``, ``inclusion_proof``, ``consistency_proof``: one-shot helpers.
* ``MerkleLevels``: every level of a tree computed once, then the root and any
  proof, for the full size or any smaller size, in O(log n).
* ``CompactTree``: the right frontier of a growing tree, O(log n) state, with
  ``append``, ``root`` and the consistency proof to the tree it grows into;
  serialisable so a worker can persist and resume it.
* ``verify_inclusion`` / ``verify_consistency``: RFC 9162 sections 2.1.3.2 and
  2.1.4.2. They return ``False`` for anything malformed and never raise.

Generators raise ``ProofError`` for impossible requests (index out of range,
sizes out of order) and ``MerkleError`` for hashes that are not 32 bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT", "HASH_SIZE", "CompactTree", "MerkleError", "MerkleLevels", "ProofError", "consistency_proof",
    "hash_leaves", "inclusion_proof", "leaf_hash", "node_hash", "root", "verify_consistency", "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class MerkleError(ValueError):
    """Invalid input to a tree operation (e.g. a hash that is not 32 bytes)."""


class ProofError(MerkleError):
    """A proof was requested for an impossible index or pair of sizes."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: ``SHA-256(0x00 || data)``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def hash_leaves(entries: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of many entries (a fast loop over ``leaf_hash``)."""
    return [_sha256(b"\x00" + e).digest() for e in entries]


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_hash(x: object) -> bool:
    return isinstance(x, bytes | bytearray) and len(x) == HASH_SIZE


def _leaf_list(hashes: Iterable[bytes]) -> list[bytes]:
    """The leaf hashes as a list of ``bytes``, checking each is 32 bytes."""
    out = list(hashes)
    for i, h in enumerate(out):
        if type(h) is not bytes or len(h) != HASH_SIZE:
            if not _is_hash(h):
                raise MerkleError(f"leaf hash {i} is not {HASH_SIZE} bytes")
            out[i] = bytes(h)
    return out


def _next_level(level: list[bytes]) -> list[bytes]:
    """Hash adjacent pairs; an odd last node moves up unchanged."""
    up = [_sha256(b"\x01" + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)]
    if len(level) & 1:
        up.append(level[-1])
    return up


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """Merkle tree head of the given leaf hashes (``EMPTY_ROOT`` for none)."""
    level = _leaf_list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


class MerkleLevels:
    """All levels of one tree, computed once; then O(log n) roots and proofs.

    Level ``k`` entry ``j`` is the hash of leaves ``[j * 2**k, min((j+1) * 2**k,
    size))``: a perfect subtree, or at the right edge the subtree that RFC 6962
    would build there. Any prefix of the leaves is itself a valid tree, so roots
    and proofs are available for every size up to ``size``; at the full size an
    inclusion proof is just one stored sibling per level. Memory: about one
    stored hash per leaf besides the leaves (~100 MB per million leaves).
    """

    def __init__(self, leaf_hashes: Iterable[bytes]) -> None:
        level = _leaf_list(leaf_hashes)
        self._levels = [level]
        while len(level) > 1:
            level = _next_level(level)
            self._levels.append(level)
        self.size = len(self._levels[0])

    def leaf(self, index: int) -> bytes:
        """Leaf hash at ``index``."""
        if not _is_int(index) or not 0 <= index < self.size:
            raise ProofError(f"leaf index {index} outside tree of size {self.size}")
        return self._levels[0][index]

    def _hash(self, lo: int, hi: int) -> bytes:
        """MTH of leaves ``[lo, hi)``, a subtree of some RFC 6962 tree (so aligned)."""
        n = hi - lo
        if n & (n - 1) == 0 or hi == self.size:  # stored: perfect, or the right edge
            k = (n - 1).bit_length()
            return self._levels[k][lo >> k]
        k = _split(n)
        return node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))

    def _size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not _is_int(size) or not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} outside 0..{self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (default: all)."""
        n = self._size(size)
        return self._hash(0, n) if n else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 audit path of leaf ``index`` in the tree of the first ``size`` leaves."""
        n = self._size(size)
        if not _is_int(index) or not 0 <= index < n:
            raise ProofError(f"leaf index {index} outside tree of size {n}")
        proof: list[bytes] = []
        if n == self.size:  # every sibling is stored: one per level, bottom up
            for level in self._levels[:-1]:
                sibling = index ^ 1
                if sibling < len(level):  # else this node is promoted unchanged
                    proof.append(level[sibling])
                index >>= 1
            return proof
        lo, hi = 0, n
        while hi - lo > 1:  # walk down from the root, collecting siblings
            mid = lo + _split(hi - lo)
            if index < mid:
                proof.append(self._hash(mid, hi))
                hi = mid
            else:
                proof.append(self._hash(lo, mid))
                lo = mid
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 6962 consistency proof from ``old_size`` to ``new_size`` (empty if trivial)."""
        n = self._size(new_size)
        if not _is_int(old_size) or not 0 <= old_size <= n:
            raise ProofError(f"old size {old_size} outside 0..{n}")
        if old_size in (0, n):
            return []
        # SUBPROOF(m, D[lo:hi], b), unrolled: siblings collected top-down.
        siblings: list[bytes] = []
        lo, hi, whole = 0, n, True
        while old_size != hi:
            mid = lo + _split(hi - lo)
            if old_size <= mid:
                siblings.append(self._hash(mid, hi))
                hi = mid
            else:
                siblings.append(self._hash(lo, mid))
                lo, whole = mid, False
        proof = [] if whole else [self._hash(lo, hi)]
        proof.extend(reversed(siblings))
        return proof


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Audit path of leaf ``index`` in the tree of the first ``size`` leaf hashes."""
    if not _is_int(size) or not 0 <= size <= len(leaf_hashes):
        raise ProofError(f"tree size {size} outside 0..{len(leaf_hashes)}")
    return MerkleLevels(leaf_hashes[:size]).inclusion_proof(index)


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof between the trees of the first ``old_size`` and ``new_size`` leaves."""
    if not _is_int(new_size) or not 0 <= new_size <= len(leaf_hashes):
        raise ProofError(f"tree size {new_size} outside 0..{len(leaf_hashes)}")
    return MerkleLevels(leaf_hashes[:new_size]).consistency_proof(old_size)


def _valid_path(proof: object) -> bool:
    return isinstance(proof, list | tuple) and all(_is_hash(p) for p in proof)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True iff ``proof`` shows leaf ``index`` of tree ``size`` with head ``root`` is ``leaf_hash``.

    RFC 9162 section 2.1.3.2. Returns False for malformed input; never raises.
    """
    if not (_is_int(index) and _is_int(size) and 0 <= index < size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _valid_path(proof)):
        return False
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """True iff ``proof`` shows tree (old_size, old_root) is a prefix of (new_size, new_root).

    RFC 9162 section 2.1.4.2, plus the trivial cases: from size 0 (the old root
    must be ``EMPTY_ROOT``) and equal sizes (equal roots); both need an empty
    proof. Returns False for malformed input; never raises.
    """
    if not (_is_int(old_size) and _is_int(new_size) and 0 <= old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root) and _valid_path(proof)):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if not path:
        return False
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class CompactTree:
    """Incremental RFC 6962 tree: keeps only the roots of its perfect subtrees.

    ``nodes`` are those roots from the leftmost (largest) to the rightmost, one
    per set bit of ``size``. ``append`` is amortised O(1) hashes and ``root`` is
    O(log n). ``to_state``/``from_state`` round-trip through ``(size, [hex])``.
    """

    def __init__(self) -> None:
        self._size = 0
        self._nodes: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash."""
        if not _is_hash(leaf_hash):
            raise MerkleError(f"leaf hash is not {HASH_SIZE} bytes")
        node = bytes(leaf_hash)
        s = self._size
        while s & 1:  # merge equal-sized subtrees, like a binary carry
            node = node_hash(self._nodes.pop(), node)
            s >>= 1
        self._nodes.append(node)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes in order: whole perfect subtrees at a time, level by level in one list pass
        each, wherever the tree's size is aligned to them (the same tree as appending one by one)."""
        leaves = _leaf_list(leaf_hashes)
        i = 0
        while i < len(leaves):
            left = len(leaves) - i
            span = (self._size & -self._size) or 1 << left.bit_length()  # largest subtree the size is aligned to
            while span > left:
                span >>= 1
            level = leaves[i:i + span]
            while len(level) > 1:
                level = _next_level(level)
            self._push(level[0], span)
            i += span

    def _push(self, node: bytes, span: int) -> None:
        """Add the root of a perfect subtree of `span` leaves; the size must be a multiple of `span`."""
        s = self._size // span
        while s & 1:
            node = node_hash(self._nodes.pop(), node)
            s >>= 1
        self._nodes.append(node)
        self._size += span

    def consistency_proof(self, new_leaves: Sequence[bytes]) -> list[bytes]:
        """Consistency proof from this tree to it with ``new_leaves`` appended (RFC 9162 section 2.1.4.1).

        Needs no other leaf: the proof's hashes left of the old size are this frontier, the rest lie
        among the new leaves. O(len(new_leaves) + log n) hashes; this tree is not changed.
        """
        m, leaves = self._size, _leaf_list(new_leaves)
        if m == 0 or not leaves:
            return []
        old = iter(self._nodes)  # the frontier, largest subtree first: in the order the descent meets it
        siblings: list[bytes] = []
        lo, hi, whole = 0, m + len(leaves), True
        while m != hi:  # as MerkleLevels.consistency_proof
            mid = lo + _split(hi - lo)
            if m <= mid:
                siblings.append(root(leaves[mid - m:hi - m]))
                hi = mid
            else:
                siblings.append(next(old))
                lo, whole = mid, False
        proof = [] if whole else [next(old)]
        proof.extend(reversed(siblings))
        return proof

    def root(self) -> bytes:
        """Root of the tree of all leaves appended so far."""
        if not self._nodes:
            return EMPTY_ROOT
        r = self._nodes[-1]
        for node in reversed(self._nodes[:-1]):
            r = node_hash(node, r)
        return r

    def to_state(self) -> tuple[int, list[str]]:
        """``(size, nodes as lower-case hex)``, e.g. to store as JSON."""
        return self._size, [n.hex() for n in self._nodes]

    @classmethod
    def from_state(cls, size: int, nodes: Sequence[str]) -> CompactTree:
        """Rebuild from ``to_state`` output; raise ``MerkleError`` if it is inconsistent."""
        if not _is_int(size) or size < 0:
            raise MerkleError(f"size must be a non-negative int, not {size!r}")
        if not isinstance(nodes, list | tuple) or len(nodes) != size.bit_count():
            raise MerkleError(f"a tree of size {size} has {size.bit_count()} frontier nodes")
        raw: list[bytes] = []
        for i, text in enumerate(nodes):
            if not (isinstance(text, str) and len(text) == 2 * HASH_SIZE and text == text.lower()):
                raise MerkleError(f"frontier node {i} is not 64 lower-case hex characters")
            try:
                node = bytes.fromhex(text)
            except ValueError:
                node = b""
            if len(node) != HASH_SIZE:
                raise MerkleError(f"frontier node {i} is not hex")
            raw.append(node)
        tree = cls()
        tree._size, tree._nodes = size, raw
        return tree
