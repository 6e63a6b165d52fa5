"""Shamir t-of-n secret sharing of 32-byte secrets over GF(2^521 - 1)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

PRIME = (1 << 521) - 1
SHARE_BYTES = 66


def split(secret_values: Sequence[bytes], n: int, t: int) -> list[list[int]]:
    """Share each secret t-of-n; returns ``shares[j][i]`` = share of secret i for x = j + 1."""
    if not 1 <= t <= n:
        raise ValueError("need 1 <= t <= n")
    polys = []
    for s in secret_values:
        if len(s) > 64:
            raise ValueError("secret too long")
        coeffs = [int.from_bytes(s, "big")] + [secrets.randbelow(PRIME) for _ in range(t - 1)]
        polys.append(coeffs[::-1])
    out: list[list[int]] = []
    for x in range(1, n + 1):
        row = []
        for coeffs in polys:
            acc = 0
            for c in coeffs:
                acc = (acc * x + c) % PRIME
            row.append(acc)
        out.append(row)
    return out


def lagrange_at_zero(xs: Sequence[int]) -> list[int]:
    """Coefficients l_j with secret = sum l_j * share_j (mod PRIME) for distinct xs."""
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate share index")
    coeffs = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = num * (-xm) % PRIME
                den = den * (xj - xm) % PRIME
        coeffs.append(num * pow(den, -1, PRIME) % PRIME)
    return coeffs


def combine(xs: Sequence[int], ys: Sequence[int], coeffs: Sequence[int] | None = None) -> bytes:
    """Reconstruct a 32-byte secret from shares (x, y); pass precomputed Lagrange coeffs."""
    lc = coeffs if coeffs is not None else lagrange_at_zero(xs)
    value = sum(c * y for c, y in zip(lc, ys, strict=True)) % PRIME
    if value >= 1 << 256:
        raise ValueError("shares do not reconstruct a 32-byte secret")
    return value.to_bytes(32, "big")
