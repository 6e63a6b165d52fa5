"""Vectors in Z_{2^k}^d packed into one Python integer, one lane per fixed-width slot.

Lane i holds bits ``[i*W, i*W + k)`` of the integer, where the slot width ``W = k + 16``
leaves 16 guard bits so that up to 2^16 reduced vectors can be added with plain big-integer
addition before a single AND reduces every lane mod 2^k. This makes masking and summing
d-dimensional vectors cost a few big-integer operations instead of d Python operations.
The wire format of a vector is its reduced packed integer as exactly ``d * W / 8`` bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

GUARD_BYTES = 2
_ZERO_NONCE = bytes(16)


@dataclass(frozen=True)
class Ring:
    """Z_{2^bits}^length with packed-integer arithmetic; ``bits`` is a multiple of 8."""

    bits: int
    length: int
    _lane_mask: int = field(init=False, repr=False, compare=False)
    _modulus_rep: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.bits % 8 or not 8 <= self.bits <= 4096:
            raise ValueError("ring bits must be a multiple of 8 in 8..4096")
        if self.length < 1:
            raise ValueError("vector length must be positive")
        kb = self.bits // 8
        lane = b"\xff" * kb + b"\x00" * GUARD_BYTES
        modrep = b"\x00" * kb + b"\x01" + b"\x00" * (GUARD_BYTES - 1)
        object.__setattr__(self, "_lane_mask", int.from_bytes(lane * self.length, "little"))
        object.__setattr__(self, "_modulus_rep", int.from_bytes(modrep * self.length, "little"))

    @property
    def slot_bytes(self) -> int:
        return self.bits // 8 + GUARD_BYTES

    @property
    def wire_bytes(self) -> int:
        return self.slot_bytes * self.length

    @property
    def modulus(self) -> int:
        return 1 << self.bits

    def encode(self, values: list[int]) -> int:
        """Pack signed integers (two's complement mod 2^bits)."""
        if len(values) != self.length:
            raise ValueError("vector length mismatch")
        m, sb = self.modulus, self.slot_bytes
        return int.from_bytes(b"".join((v % m).to_bytes(sb, "little") for v in values), "little")

    def decode(self, packed: int, signed: bool = True) -> list[int]:
        """Unpack a (reduced or not) packed vector into centred integers."""
        raw = self.reduce(packed).to_bytes(self.wire_bytes, "little")
        sb, kb, m, half = self.slot_bytes, self.bits // 8, self.modulus, self.modulus >> 1
        out = [int.from_bytes(raw[i : i + kb], "little") for i in range(0, len(raw), sb)]
        return [v - m if signed and v >= half else v for v in out] if signed else out

    def reduce(self, packed: int) -> int:
        return packed & self._lane_mask

    def neg(self, packed: int) -> int:
        """Lane-wise additive inverse of a reduced vector."""
        return (self._modulus_rep - packed) & self._lane_mask

    def to_wire(self, packed: int) -> bytes:
        return self.reduce(packed).to_bytes(self.wire_bytes, "little")

    def from_wire(self, data: bytes) -> int:
        if len(data) != self.wire_bytes:
            raise ValueError(f"masked vector must be exactly {self.wire_bytes} bytes")
        value = int.from_bytes(data, "little")
        if value & ~self._lane_mask:
            raise ValueError("masked vector has non-zero guard bits")
        return value

    def prg(self, key: bytes) -> int:
        """Expand a 32-byte key with AES-256-CTR into a uniformly random reduced vector."""
        enc = Cipher(algorithms.AES(key), modes.CTR(_ZERO_NONCE)).encryptor()
        stream = enc.update(bytes(self.wire_bytes)) + enc.finalize()
        return int.from_bytes(stream, "little") & self._lane_mask


def derive_key(secret: bytes, *labels: str) -> bytes:
    """Per-purpose 32-byte key: HMAC-SHA256(secret, labels joined by NUL)."""
    return hmac.new(secret, "\x00".join(labels).encode(), hashlib.sha256).digest()
