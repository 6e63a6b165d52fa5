"""The fast signer check names the true signer, whatever the signature claims."""

from __future__ import annotations

import contextlib
import os

import pytest
from eth_account import Account
from eth_utils import keccak

from ledger.secp256k1 import signer_of


def signed(account: object, digest: bytes) -> bytes:
    return bytes(Account._sign_hash(digest, account.key).signature)  # type: ignore[attr-defined]


def test_agrees_with_eth_account_for_known_and_unknown_signers() -> None:
    keys = [Account.create() for _ in range(3)]
    for i in range(12):
        digest = keccak(os.urandom(40))
        key = keys[i % 3]
        sig = signed(key, digest)
        assert signer_of(digest, sig) == key.address  # unknown first, then from the cached key
        assert signer_of(digest, sig, claimed=key.address) == key.address
        other = keys[(i + 1) % 3].address  # a claim the signature does not bear out: the true signer
        assert signer_of(digest, sig, claimed=other) == key.address


def test_an_edited_digest_or_signature_is_not_the_signer() -> None:
    key = Account.create()
    digest = keccak(b"statement")
    sig = signed(key, digest)
    assert signer_of(keccak(b"other statement"), sig, claimed=key.address) != key.address
    flipped = sig[:40] + bytes([sig[40] ^ 1]) + sig[41:]
    with contextlib.suppress(ValueError):  # no point on the curve for that r: not a signature at all
        assert signer_of(digest, flipped, claimed=key.address) != key.address


@pytest.mark.parametrize("bad", ["short", "r_zero", "s_too_big", "v_five"])
def test_malformed_signatures_are_refused(bad: str) -> None:
    digest = keccak(b"x")
    sig = bytearray(signed(Account.create(), digest))
    if bad == "short":
        sig = sig[:64]
    elif bad == "r_zero":
        sig[:32] = bytes(32)
    elif bad == "s_too_big":
        sig[32:64] = b"\xff" * 32
    else:
        sig[64] = 5
    with pytest.raises(ValueError):
        signer_of(digest, bytes(sig))
