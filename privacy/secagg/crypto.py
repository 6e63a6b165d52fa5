"""Signed envelopes (Ed25519), X25519 agreement, AES-GCM for provider-to-provider shares.

Message bodies are signed and hashed in the one strict canonical JSON of ``ledger.canonical``;
a body it refuses (NaN, non-string keys, too deep) is refused as a malformed envelope.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.canonical import RecordFormatError, canonical_json, sha256_hex
from privacy.errors import ProviderAuthError
from privacy.secagg.constants import ATTACHMENTS, SIG_DOMAIN

ENVELOPE = frozenset({"body", "signer", "sig"})
MAX_CLOCK_SKEW = 300.0


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_private(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return raw_public(key).hex()


def load_public_key(hex_key: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(hex_key))
    except ValueError as e:
        raise ProviderAuthError(f"invalid Ed25519 public key: {e}") from None


def secret_file(path: Path) -> bytes:
    """The raw 32-byte secret in ``path`` (mode 0600), created from the OS's randomness the first time (an
    Ed25519 seed or an X25519 private key: both take any 32 bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_bytes()
    secret = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


def load_or_create_identity(key_dir: Path) -> Ed25519PrivateKey:
    """Load ``identity.key`` (raw 32-byte seed, mode 0600) from key_dir, creating it once (and ``identity.pub``)."""
    key = Ed25519PrivateKey.from_private_bytes(secret_file(key_dir / "identity.key"))
    pub = key_dir / "identity.pub"
    if not pub.exists():
        pub.write_text(public_key_hex(key) + "\n")
    return key


def sign(body: dict[str, Any], signer: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """Wrap ``body`` in an envelope signed over its canonical JSON."""
    return sign_with_digest(body, signer, key)[0]


def sign_with_digest(body: dict[str, Any], signer: str, key: Ed25519PrivateKey) -> tuple[dict[str, Any], str]:
    """:func:`sign`, plus the SHA-256 (hex) of the body's canonical JSON that a reply binds to
    (``req``); the body is encoded once for both."""
    data = canonical_json(body)
    return {"body": body, "signer": signer, "sig": key.sign(SIG_DOMAIN + data).hex()}, sha256_hex(data)


def verify(envelope: Any, expected_signer: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Check an envelope's shape, signer and signature; return its body."""
    return verify_with_digest(envelope, expected_signer, public_key)[0]


def verify_with_digest(envelope: Any, expected_signer: str, public_key: Ed25519PublicKey) -> tuple[dict[str, Any], str]:
    """:func:`verify`, plus the SHA-256 (hex) of the body's canonical JSON (encoded once)."""
    if not isinstance(envelope, dict) or not ENVELOPE <= set(envelope) <= ENVELOPE | ATTACHMENTS:
        raise ProviderAuthError("malformed envelope")
    body = envelope["body"]
    if not isinstance(body, dict) or envelope["signer"] != expected_signer:
        raise ProviderAuthError(f"message not signed by {expected_signer}")
    try:
        data = canonical_json(body)
    except RecordFormatError as e:
        raise ProviderAuthError(f"malformed envelope: {e}") from None
    try:
        sig = bytes.fromhex(str(envelope["sig"]))
        public_key.verify(sig, SIG_DOMAIN + data)
    except (ValueError, InvalidSignature):
        raise ProviderAuthError(f"bad signature from {expected_signer!r}") from None
    return body, sha256_hex(data)


def check_fresh(ts: Any, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if not isinstance(ts, int | float) or abs(now - float(ts)) > MAX_CLOCK_SKEW:
        raise ProviderAuthError("stale or future timestamp")


def agree(private: X25519PrivateKey, peer_public: bytes, info: bytes) -> bytes:
    """X25519 then HKDF-SHA256 to a 32-byte key bound to ``info``."""
    shared = private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
    except (InvalidTag, ValueError):
        raise ProviderAuthError("share ciphertext failed authentication") from None
