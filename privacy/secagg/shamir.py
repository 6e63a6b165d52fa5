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
            for c in coeffs:  # x is small: reduce once at the end, not at every step
                acc = acc * x + c
            row.append(acc % PRIME)
        out.append(row)
    return out


def lagrange_at(xs: Sequence[int], x: int) -> list[int]:
    """Coefficients l_j with P(x) = sum l_j * P(x_j) (mod PRIME) for any P of degree < len(xs)."""
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate share index")
    coeffs = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = num * (x - xm) % PRIME
                den = den * (xj - xm) % PRIME
        coeffs.append(num * pow(den, -1, PRIME) % PRIME)
    return coeffs


def lagrange_at_zero(xs: Sequence[int]) -> list[int]:
    """Coefficients l_j with secret = sum l_j * share_j (mod PRIME) for distinct xs."""
    return lagrange_at(xs, 0)


def random_combination(rows: Sequence[Sequence[int]]) -> list[int]:
    """``sum_i r_i * rows[i]`` (mod PRIME) for fresh random 128-bit ``r_i``.

    ``rows[i][j]`` is the share of secret i held at point j. Lying on a polynomial of degree < t
    is a linear condition, so the combination does exactly when every row does, except with
    probability at most 2^-128 (Schwartz-Zippel): one check covers all secrets at once."""
    width = len(rows[0]) if rows else 0
    out = [0] * width
    for row in rows:
        r = secrets.randbits(128)
        for j, y in enumerate(row):
            out[j] += r * y
    return [v % PRIME for v in out]


def on_polynomial(xs: Sequence[int], ys: Sequence[int], t: int) -> bool:
    """Whether the points (xs, ys) all lie on one polynomial of degree < t (Reed-Solomon
    consistency; says nothing when len <= t).

    Parity check of the dual (generalised Reed-Solomon) code: with v_j = 1 / prod_{k != j}(x_j - x_k),
    ``sum_j v_j x_j^i y_j`` is the leading divided difference of x^i P(x), zero for every
    i < len(xs) - t exactly when deg P < t. Costs one inverse per point and O(m (m - t)) small
    multiplications, against O(m t^2) for interpolating and evaluating."""
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate share index")
    terms = []
    for j, xj in enumerate(xs):
        den = 1
        for k, xk in enumerate(xs):
            if k != j:
                den *= xj - xk
        terms.append(pow(den % PRIME, -1, PRIME) * ys[j] % PRIME)
    for _ in range(len(xs) - t):
        if sum(terms) % PRIME:
            return False
        terms = [z * x % PRIME for z, x in zip(terms, xs, strict=True)]
    return True


def combine(xs: Sequence[int], ys: Sequence[int], coeffs: Sequence[int] | None = None) -> bytes:
    """Reconstruct a 32-byte secret from shares (x, y); pass precomputed Lagrange coeffs."""
    lc = coeffs if coeffs is not None else lagrange_at_zero(xs)
    value = sum(c * y for c, y in zip(lc, ys, strict=True)) % PRIME
    if value >= 1 << 256:
        raise ValueError("shares do not reconstruct a 32-byte secret")
    return value.to_bytes(32, "big")
