"""Fast secp256k1 signing and signer checks for hot paths: the same bytes `eth_account.sign_message` gives, and
the same signer ecrecover gives, in a fraction of the time.

eth_keys' native backend multiplies points in pure Python (about 3 ms a signature). Here the one point
multiplication, k·G, is done by OpenSSL (`cryptography`: the public key of the private scalar k), and the rest is
integer arithmetic: the RFC 6979 nonce exactly as eth_keys derives it, s = k⁻¹(z + r·d) mod n, low-s, and the
recovery id from R's y parity. A test pins the output to `eth_account`'s, byte for byte. Checking a signature by
a signer whose public key is known is one OpenSSL verification (`signed_by`).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import keccak, to_checksum_address

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # the group order


def eip191_digest(message: bytes) -> bytes:
    """keccak256("\\x19Ethereum Signed Message:\\n" + len(message) + message): what `personal_sign` signs."""
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def _nonce(digest: bytes, key: bytes) -> int:
    """RFC 6979 (HMAC-SHA256) as eth_keys computes it: one round, no retry."""
    v0, k0 = b"\x01" * 32, b"\x00" * 32
    k1 = hmac.new(k0, v0 + b"\x00" + key + digest, hashlib.sha256).digest()
    v1 = hmac.new(k1, v0, hashlib.sha256).digest()
    k2 = hmac.new(k1, v1 + b"\x01" + key + digest, hashlib.sha256).digest()
    v2 = hmac.new(k2, v1, hashlib.sha256).digest()
    return int.from_bytes(hmac.new(k2, v2, hashlib.sha256).digest(), "big")


def sign_digest(digest: bytes, key: bytes) -> bytes:
    """The 65-byte signature r ‖ s ‖ v (v = 27 or 28, low s) of a 32-byte digest with a 32-byte private key."""
    z = int.from_bytes(digest, "big")
    d = int.from_bytes(key, "big")
    k = _nonce((z % N).to_bytes(32, "big"), key)
    point = ec.derive_private_key(k, ec.SECP256K1()).public_key().public_numbers()  # R = k·G, by OpenSSL
    r = point.x
    s = pow(k, -1, N) * (z + r * d) % N
    high = s * 2 >= N
    v = 27 + ((point.y & 1) ^ high)
    s = N - s if high else s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def sign_message(message: bytes, key: bytes) -> bytes:
    """EIP-191 (version 0x45) signature of `message`: equal to `Account.sign_message(encode_defunct(message))`."""
    return sign_digest(eip191_digest(message), key)


P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F  # the field prime
_PREHASHED = ec.ECDSA(utils.Prehashed(hashes.SHA256()))  # any 32-byte digest; SHA-256 names only its size
_KNOWN_MAX = 4096
_known: dict[str, ec.EllipticCurvePublicKey] = {}  # public keys recovered so far, by lower-case address


def _parts(signature: bytes) -> tuple[int, int, int]:
    """r, s and the recovery id (0 or 1) of r ‖ s ‖ v; ValueError for anything ecrecover would refuse."""
    if len(signature) != 65:
        raise ValueError(f"a signature is 65 bytes, not {len(signature)}")
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    v = v - 27 if v >= 27 else v
    if not (0 < r < N and 0 < s < N and v in (0, 1)):
        raise ValueError("r, s or v out of range")
    return r, s, v


def signed_by(digest: bytes, signature: bytes, public_key: ec.EllipticCurvePublicKey) -> bool:
    """True exactly when recovering `signature` (r ‖ s ‖ v) over `digest` gives `public_key`, as ecrecover would,
    in one OpenSSL verification: with R the point of x = r and y parity v, recovery gives Q = r⁻¹(s·R − z·G); that
    is Q iff (−z/r)·G + (s/r)·R = Q, which is an ECDSA verification under the key R of the signature
    (r', s') = (x(Q), r'·r/s) over the digest e' = −z·s'/r. The other point of x = r gives −(z·G + s·R)/r ≠ ±Q."""
    try:
        r, s, v = _parts(signature)
    except ValueError:
        return False
    y = pow((pow(r, 3, P) + 7) % P, (P + 1) // 4, P)
    if (y * y - r * r * r - 7) % P:
        return False  # no point has x = r: nothing recovers
    if y & 1 != v:
        y = P - y
    z = int.from_bytes(digest, "big") % N
    r2 = public_key.public_numbers().x % N
    s2 = r2 * r * pow(s, -1, N) % N
    e2 = -z * s2 * pow(r, -1, N) % N
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x04" + r.to_bytes(32, "big")
                                                         + y.to_bytes(32, "big"))
    try:
        point.verify(utils.encode_dss_signature(r2, s2), e2.to_bytes(32, "big"), _PREHASHED)
    except InvalidSignature:
        return False
    return z != 0  # z = 0: both points of x = r pass; no such digest comes from keccak


def signer_of(digest: bytes, signature: bytes, claimed: str | None = None) -> str:
    """The checksummed address ecrecover gives for `signature` over the 32-byte `digest`; ValueError when it is
    not a signature. A signer seen before costs one OpenSSL verification (`signed_by`), anyone else a full
    recovery (pure Python, ~5 ms), whose public key is then kept."""
    if len(digest) != 32:
        raise ValueError(f"a digest is 32 bytes, not {len(digest)}")
    r, s, v = _parts(signature)
    key = _known.get(claimed.lower()) if claimed else None
    if key is not None and claimed is not None and signed_by(digest, signature, key):
        return str(to_checksum_address(claimed))
    try:
        public = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError) as exc:
        raise ValueError(f"no signer recovers: {exc}") from None
    address = public.to_checksum_address()
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[address.lower()] = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x04" + public.to_bytes())
    return str(address)


def message_problem(message: bytes, signature_hex: str, address: str) -> str | None:
    """None when `signature_hex` is `address`'s EIP-191 signature of `message`, else what is wrong."""
    try:
        signer = signer_of(eip191_digest(message), bytes.fromhex(signature_hex.removeprefix("0x")), address)
    except ValueError as exc:
        return f"unreadable signature: {exc}"
    return None if signer.lower() == address.lower() else f"signed by {signer}, not by {address}"
