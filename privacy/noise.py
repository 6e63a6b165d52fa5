"""Integer DP noise from a cryptographic RNG: Poisson and symmetric Skellam shares.

Each provider adds ``Skellam(var/(2t), var/(2t))`` (= Poisson - Poisson, variance var/t) to
every lane inside its masked vector. Skellam distributions are closed under addition, so the
sum over the >= t providers that survive is exactly Skellam with variance >= ``var``; the
coordinator only ever sees this sum. Uniforms come from ``os.urandom`` (never numpy or
``random``); Poisson sampling uses inversion for small means and Hoermann's PTRS
transformed rejection (as in numpy) for large means, in double precision.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

MAX_POISSON_MEAN = float(2**45)


class CryptoUniform:
    """Uniform doubles in [0, 1) with 53 random bits each, drawn from os.urandom in blocks."""

    def __init__(self, block: int = 8192) -> None:
        self._block = block
        self._buf = b""
        self._pos = 0

    def random(self) -> float:
        if self._pos + 8 > len(self._buf):
            self._buf, self._pos = os.urandom(self._block), 0
        v = int.from_bytes(self._buf[self._pos : self._pos + 8], "little") >> 11
        self._pos += 8
        return v * (1.0 / 9007199254740992.0)


def poisson(lam: float, rng: CryptoUniform) -> int:
    """One Poisson(lam) sample."""
    if lam < 0 or lam > MAX_POISSON_MEAN or math.isnan(lam):
        raise ValueError(f"Poisson mean out of range: {lam}")
    if lam == 0:
        return 0
    if lam < 30:
        u = rng.random()
        p = math.exp(-lam)
        cdf, k = p, 0
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
        return k
    slam, loglam = math.sqrt(lam), math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + lam + 0.43) if us > 0 else -1
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us) or v <= 0:
            continue
        lhs = math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
        if lhs <= -lam + k * loglam - math.lgamma(k + 1):
            return k


def skellam(variance: float, rng: CryptoUniform) -> int:
    """Symmetric Skellam sample with the given variance (Poisson(v/2) - Poisson(v/2))."""
    half = variance / 2.0
    return poisson(half, rng) - poisson(half, rng)


def skellam_shares(lane_variances: Sequence[float], threshold: int) -> list[int]:
    """This provider's noise share: variance ``var / threshold`` per lane."""
    rng = CryptoUniform()
    return [skellam(v / threshold, rng) if v > 0 else 0 for v in lane_variances]
