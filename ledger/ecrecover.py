"""Who signed a 32-byte digest (secp256k1, Ethereum's r ‖ s ‖ v), fast for signers seen before.

Recovering a public key from a signature is pure Python here (~5 ms). Once an address's public key is known,
checking a signature that claims that address is one ECDSA verification in OpenSSL (~0.25 ms): a signature
valid under the key of address A was made by A's key, whatever the recovery id. Anything else (an unknown
signer, a claim that does not verify) takes the full recovery, so the answer is always the true signer.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from eth_keys import keys
from eth_utils import to_checksum_address

_CURVE_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_KNOWN_MAX = 4096  # public keys kept, by lower-case address
_known: dict[str, ec.EllipticCurvePublicKey] = {}
_PREHASHED = ec.ECDSA(utils.Prehashed(hashes.SHA256()))  # any 32-byte digest; SHA-256 names only its size


def signer_of(digest: bytes, signature: bytes, claimed: str | None = None) -> str:
    """The checksummed address whose key signed `digest`; ValueError when `signature` is not a signature."""
    if len(digest) != 32 or len(signature) != 65:
        raise ValueError(f"need a 32-byte digest and a 65-byte signature, got {len(digest)} and {len(signature)}")
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    v = v - 27 if v >= 27 else v
    if not (0 < r < _CURVE_N and 0 < s < _CURVE_N and v in (0, 1)):
        raise ValueError("r, s or v out of range")
    key = _known.get(claimed.lower()) if claimed else None
    if key is not None and claimed is not None:
        try:
            key.verify(utils.encode_dss_signature(r, s), digest, _PREHASHED)
            return to_checksum_address(claimed)
        except InvalidSignature:
            pass
    public = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
    address = public.to_checksum_address()
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[address.lower()] = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(),
                                                                          b"\x04" + public.to_bytes())
    return str(address)
