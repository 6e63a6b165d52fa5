"""Mask keys both halves derive: pairwise masks from X25519 per slot, self masks from a seed.

A provider adds these masks to its vector; the coordinator derives the same keys from
reconstructed secrets to remove the masks of survivors (self) and of dropped providers (pairwise).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privacy.secagg.crypto import agree
from privacy.secagg.ring import derive_key


def pair_key(private: X25519PrivateKey, peer_public: bytes, session: str, slot: int) -> bytes:
    """PRG key of the pairwise mask between two providers for one slot of a session."""
    return agree(private, peer_public, f"provex-pair|{session}|{slot}".encode())


def self_mask_key(seed: bytes, session: str, slot: int) -> bytes:
    """PRG key of a provider's self mask for one slot, from its Shamir-shared seed."""
    return derive_key(seed, "provex-self", session, str(slot))
