"""Sealing a small JSON document to an X25519 public key: ephemeral X25519, HKDF-SHA256, AES-256-GCM, padded.

Used both ways in verification calls: the buyer seals its question to each node's sealing key, each node seals
its signed answer to the buyer's reply key. The sealed blob is ``eph_pub || nonce || AES-GCM(padded)``, where the
padded plaintext is a 2-byte length, the canonical JSON and zeros up to ``size`` bytes, so every blob of one kind
has the same length whatever it holds. ``info`` (the HKDF context) and ``aad`` bind the blob to its purpose.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.canonical import canonical_json
from privacy.errors import ProviderAuthError
from privacy.secagg.crypto import raw_public, secret_file


def sealed_size(size: int) -> int:
    """Bytes of a blob sealing ``size`` bytes of padded plaintext: ephemeral key, nonce, ciphertext, GCM tag."""
    return 32 + 12 + size + 16


def _aead_key(shared: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def seal(doc: dict[str, Any], peer_hex: str, info: bytes, aad: bytes, size: int) -> str:
    """``doc`` sealed to the X25519 public key ``peer_hex`` (base64, always ``sealed_size(size)`` bytes)."""
    data = canonical_json(doc)
    if len(data) > size - 2:
        raise ValueError("document too long to seal")
    padded = len(data).to_bytes(2, "big") + data + b"\0" * (size - 2 - len(data))
    eph = X25519PrivateKey.generate()
    key = _aead_key(eph.exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(peer_hex))), info)
    nonce = os.urandom(12)
    blob = raw_public(eph) + nonce + AESGCM(key).encrypt(nonce, padded, aad)
    return base64.b64encode(blob).decode("ascii")


def open_sealed_doc(sealed: str, key: X25519PrivateKey, info: bytes, aad: bytes, size: int) -> dict[str, Any]:
    """The document inside a sealed blob; :class:`ProviderAuthError` if it does not open."""
    try:
        blob = base64.b64decode(sealed.encode("ascii"), validate=True)
        if len(blob) != sealed_size(size):
            raise ValueError("wrong size")
        aead = _aead_key(key.exchange(X25519PublicKey.from_public_bytes(blob[:32])), info)
        padded = AESGCM(aead).decrypt(blob[32:44], blob[44:], aad)
        doc = json.loads(padded[2:2 + int.from_bytes(padded[:2], "big")])
    except (ValueError, InvalidTag, UnicodeError):
        raise ProviderAuthError("a sealed message failed to open") from None
    if not isinstance(doc, dict):
        raise ProviderAuthError("a sealed message holds no document")
    return doc


def load_or_create_sealing_key(key_dir: Path) -> X25519PrivateKey:
    """A node's X25519 sealing key: ``sealing.key`` (raw 32 bytes, mode 0600) beside its identity key."""
    return X25519PrivateKey.from_private_bytes(secret_file(key_dir / "sealing.key"))
