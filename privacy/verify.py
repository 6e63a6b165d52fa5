"""Verification calls (核验): a buyer's claim about one key, answered by every provider node with one sealed bit.

Shared by the three parties:

* the node evaluates a :class:`Claim` on its own rows of the key (:func:`holds`), signs a statement
  ``{call, node, question, match}`` with its identity key and seals it to the buyer's X25519 reply key
  (:func:`seal_statement`: ephemeral X25519, HKDF-SHA256, AES-256-GCM, padded to a fixed size, so every
  node's answer has the same length whether it holds the key or not);
* the exchange only forwards the sealed answers (:func:`bundle_hash` is what it records);
* the buyer opens them (:func:`open_bundle`), checks each statement's signature against the registered
  node keys and that it answers its own question (:func:`question_hash`), and ORs the bits.

Numbers travel as decimal strings (canonical JSON has no floats) and are compared exactly as fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ledger.canonical import canonical_json, sha256_hex
from privacy.errors import ProviderAuthError
from privacy.sealbox import open_sealed_doc, seal, sealed_size
from privacy.secagg.crypto import load_public_key, raw_public, verify

ROUTE = "/verify"
REQUEST = "verify_req"
REPLY = "verify_reply"
STATEMENT = "verify_statement"
OPS = ("=", ">=", "<=", ">", "<", "between", "within_pct")
"""Claim operators: ``between`` takes ``[lo, hi]``, ``within_pct`` takes ``[target, pct]`` (|x − target| ≤
pct % of |target|), the others one value."""
PLAINTEXT_SIZE = 1024
"""Every sealed statement is padded to this many bytes before encryption."""
SEALED_SIZE = sealed_size(PLAINTEXT_SIZE)
INFO = b"provex-verify-v1"
MAX_KEY = 200


class ClaimError(ValueError):
    """A malformed claim; ``field`` names what is wrong."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def _decimal(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ClaimError(field, "must be a number")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ClaimError(field, f"{value!r} is not a number") from None
    if not d.is_finite() or abs(d) > Decimal(10) ** 18:
        raise ClaimError(field, "must be a finite number of at most 10^18")
    return format(d.normalize(), "f")


@dataclass(frozen=True)
class Claim:
    """``column op values``: what the buyer asks of the key's value."""

    column: str
    op: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, column: str, op: str, values: list[Any]) -> Claim:
        """A checked claim; :class:`ClaimError` naming the field otherwise."""
        if op not in OPS:
            raise ClaimError("claim.op", f"{op!r} is not a claim operator (one of {', '.join(OPS)})")
        want = 2 if op in ("between", "within_pct") else 1
        if len(values) != want:
            raise ClaimError("claim.values", f"{op} takes {want} value{'s' if want > 1 else ''}")
        vals = tuple(_decimal(v, f"claim.values[{i}]") for i, v in enumerate(values))
        if op == "between" and Fraction(vals[0]) > Fraction(vals[1]):
            raise ClaimError("claim.values", "between needs lo <= hi")
        if op == "within_pct" and not 0 <= Fraction(vals[1]) <= 100:
            raise ClaimError("claim.values[1]", "the percentage must be in [0, 100]")
        return cls(column, op, vals)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "op": self.op, "values": list(self.values)}

    def text(self) -> str:
        if self.op == "between":
            return f"{self.column} between {self.values[0]} and {self.values[1]}"
        if self.op == "within_pct":
            return f"{self.column} within {self.values[1]}% of {self.values[0]}"
        return f"{self.column} {self.op} {self.values[0]}"


def holds(claim: Claim, value: Fraction) -> bool:
    """Whether ``value`` (the key's value at a node) satisfies the claim, exactly."""
    v = [Fraction(x) for x in claim.values]
    op = claim.op
    if op == "between":
        return v[0] <= value <= v[1]
    if op == "within_pct":
        return abs(value - v[0]) * 100 <= v[1] * abs(v[0])
    return {"=": value == v[0], ">=": value >= v[0], "<=": value <= v[0], ">": value > v[0],
            "<": value < v[0]}[op]


def question_hash(key: str, claim: Claim, nonce: str) -> str:
    """SHA-256 of the question (key, claim and the buyer's fresh random ``nonce``, so the hash, which the exchange
    sees, cannot be matched against guessed keys): each node's statement names it, so the buyer knows the answer
    is to its own question."""
    return sha256_hex(canonical_json({"key": key, "claim": claim.to_dict(), "nonce": nonce}))


# ------------------------------------------------------------------ sealing

def new_reply_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def reply_key_hex(key: X25519PrivateKey) -> str:
    return raw_public(key).hex()


def check_reply_key(hex_key: str) -> None:
    """:class:`ClaimError` unless ``hex_key`` is an X25519 public key a node can seal to (32 bytes, not of
    low order: the agreement with it must not be all zeros)."""
    try:
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(hex_key)))
    except ValueError:
        raise ClaimError("reply_key", "not a usable X25519 public key (32 bytes hex, not a low-order point)") from None


def seal_statement(statement: dict[str, Any], reply_key_hex_: str, call_id: str) -> str:
    """The signed statement sealed to the buyer's reply key (HKDF info bound to the call id, the call id as
    AAD), always :data:`SEALED_SIZE` bytes."""
    return seal(statement, reply_key_hex_, INFO + b"\0" + call_id.encode(), call_id.encode(), PLAINTEXT_SIZE)


def open_sealed(sealed: str, reply_key: X25519PrivateKey, call_id: str) -> dict[str, Any]:
    """The signed statement inside one sealed answer; :class:`ProviderAuthError` if it does not open."""
    try:
        return open_sealed_doc(sealed, reply_key, INFO + b"\0" + call_id.encode(), call_id.encode(), PLAINTEXT_SIZE)
    except ProviderAuthError:
        raise ProviderAuthError("a sealed answer failed to open") from None


def bundle_hash(sealed: list[str]) -> str:
    """SHA-256 of the sealed answers (sorted, so the order they are returned in does not matter)."""
    return sha256_hex(canonical_json(sorted(sealed)))


@dataclass(frozen=True)
class Verdict:
    """What the buyer learns: ``match`` (the OR of the nodes' bits), and the signed statements behind it."""

    match: bool
    statements: list[dict[str, Any]]


def open_bundle(sealed: list[str], reply_key: X25519PrivateKey, call_id: str, question: str,
                nodes: dict[str, str]) -> Verdict:
    """Open every sealed answer, check each is a statement of a distinct registered node (``nodes``: node id
    -> Ed25519 public key hex) about this call and this question, that every node answered, and OR the bits."""
    statements, bits = [], []
    for s in sealed:
        doc = open_sealed(s, reply_key, call_id)
        signer = str(doc.get("signer"))
        if signer not in nodes:
            raise ProviderAuthError(f"a statement is signed by {signer!r}, not a node of the product")
        body = verify(doc, signer, load_public_key(nodes[signer]))
        if body.get("type") != STATEMENT or body.get("call") != call_id or body.get("question") != question \
                or body.get("node") != signer or not isinstance(body.get("match"), bool):
            raise ProviderAuthError(f"node {signer!r}'s statement is not about this call and question")
        statements.append(doc)
        bits.append(body["match"])
    signers = sorted(str(d["signer"]) for d in statements)
    if signers != sorted(nodes):
        raise ProviderAuthError(f"answers from {signers}, expected one from each of {sorted(nodes)}")
    return Verdict(any(bits), statements)

