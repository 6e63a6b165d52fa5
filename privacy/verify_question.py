"""The buyer's question of a verification call, sealed to each node so the exchange routes it blind.

Each node has an X25519 *sealing key* (``sealing.key`` beside its identity key, 0600) and publishes its public
half in ``GET /identity`` inside an envelope signed by its Ed25519 identity key (:func:`sealing_key_envelope`),
so the exchange, which relays it, cannot substitute its own: the buyer checks the signature against the node key
registered at the exchange and on the ledger (:func:`checked_sealing_key`). The buyer seals ``{key, claim, nonce,
reply_key}`` to every node (:func:`seal_question`; HKDF info bound to the node id, the question hash as AAD,
padded to :data:`QUESTION_SIZE` so its length says nothing about the key). The exchange sees only the claim's
column and operator (product terms it enforces), the salted question hash and the reply key; each node opens its
copy (:func:`open_question`) and checks it matches the column, operator, hash and reply key of the
coordinator-signed request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privacy.errors import ProviderAuthError
from privacy.sealbox import open_sealed_doc, seal, sealed_size
from privacy.secagg.crypto import load_public_key, raw_public, sign, verify
from privacy.verify import Claim, question_hash

SEALING_KEY = "verify_sealing_key"
QUESTION_INFO = b"provex-verify-question-v1"
QUESTION_SIZE = 2048
"""Every sealed question is padded to this many bytes (a key of 200 four-byte characters still fits)."""
SEALED_QUESTION_B64 = 4 * ((sealed_size(QUESTION_SIZE) + 2) // 3)


def sealing_key_envelope(node_id: str, identity: Ed25519PrivateKey, sealing: X25519PrivateKey) -> dict[str, Any]:
    """What ``GET /identity`` publishes as ``sealing_key``: the X25519 public key, signed by the node."""
    return sign({"type": SEALING_KEY, "node": node_id, "key": raw_public(sealing).hex()}, node_id, identity)


def checked_sealing_key(envelope: Any, node_id: str, identity_hex: str) -> str:
    """The sealing key (hex) in ``envelope`` if node ``node_id`` signed it with ``identity_hex``;
    :class:`ProviderAuthError` otherwise."""
    if not isinstance(envelope, dict) or envelope.get("signer") != node_id:
        raise ProviderAuthError(f"node {node_id!r} published no sealing key signed by itself")
    body = verify(envelope, node_id, load_public_key(identity_hex))
    key = body.get("key")
    if body.get("type") != SEALING_KEY or body.get("node") != node_id or not isinstance(key, str) \
            or len(bytes.fromhex(key)) != 32:
        raise ProviderAuthError(f"node {node_id!r}'s sealing key envelope is malformed")
    return key


@dataclass(frozen=True)
class Question:
    """What the buyer asks: the key, the claim, a fresh nonce (salting the hash) and its reply key."""

    key: str
    claim: Claim
    nonce: str
    reply_key: str

    @classmethod
    def new(cls, key: str, claim: Claim, reply_key: str) -> Question:
        return cls(key, claim, secrets.token_hex(16), reply_key)

    @property
    def hash(self) -> str:
        return question_hash(self.key, self.claim, self.nonce)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "claim": self.claim.to_dict(), "nonce": self.nonce, "reply_key": self.reply_key}


def _info(node_id: str) -> bytes:
    return QUESTION_INFO + b"\0" + node_id.encode()


def seal_question(question: Question, node_id: str, sealing_hex: str) -> str:
    """The question sealed to one node's sealing key (base64, always the same length)."""
    return seal(question.to_dict(), sealing_hex, _info(node_id), question.hash.encode(), QUESTION_SIZE)


def open_question(sealed: str, key: X25519PrivateKey, node_id: str, question: str) -> Question:
    """The question sealed to this node, if it opens and its hash is ``question``; :class:`ProviderAuthError`
    otherwise (a malformed claim inside: :class:`ClaimError`)."""
    doc = open_sealed_doc(sealed, key, _info(node_id), question.encode(), QUESTION_SIZE)
    c = doc.get("claim")
    if not isinstance(c, dict) or not isinstance(doc.get("key"), str) or not isinstance(doc.get("nonce"), str) \
            or not isinstance(doc.get("reply_key"), str) or not isinstance(c.get("values"), list):
        raise ProviderAuthError("a sealed question is malformed")
    q = Question(doc["key"], Claim.parse(str(c.get("column")), str(c.get("op")), c["values"]), doc["nonce"],
                 doc["reply_key"])
    if q.hash != question:
        raise ProviderAuthError("the sealed question does not match the request's question hash")
    return q

