"""An independent RFC 6962 reference (section 2.1, written from the definitions) and Certificate Transparency
test vectors, for the ledger.merkle tests."""

from __future__ import annotations

import hashlib

from ledger.merkle import (
    MerkleLevels,
    hash_leaves,
    leaf_hash,
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


