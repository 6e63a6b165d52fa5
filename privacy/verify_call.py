"""The coordinator's half of a verification call: one signed request to every node, their sealed answers back.

Every node of the product must answer (a node that cannot be reached might be the one holding the key, so
the call is refused rather than answered "no match"); a node's signed policy refusal is a
:class:`PolicyRefused` naming the node and the rule; anything else a :class:`ProviderRefused`.
The coordinator checks each reply is its node's, bound to its request, and one sealed answer of the fixed
size; it never sees inside.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.coordinator import ProviderEndpoint
from privacy.errors import PolicyRefused, PrivacyError, ProviderAuthError, ProviderRefused
from privacy.secagg.constants import COORDINATOR
from privacy.secagg.crypto import load_public_key, sign_with_digest, verify_with_digest
from privacy.secagg.refusal import raise_if_refusal
from privacy.verify import REPLY, REQUEST, ROUTE, SEALED_SIZE

_CLIENT = httpx.Client(limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="verify")
SEALED_B64 = 4 * ((SEALED_SIZE + 2) // 3)


@dataclass(frozen=True)
class VerifyRequest:
    """What the coordinator asks every node: the call, the key column, the claim's column and operator, the
    question hash, the buyer's reply key, and each node's sealed question (node id -> sealed; it cannot open them)."""

    call_id: str
    key_column: str
    claim_column: str
    claim_op: str
    question: str
    reply_key: str
    sealed: dict[str, str]


def _ask(signing_key: Ed25519PrivateKey, node: ProviderEndpoint, req: VerifyRequest, timeout: float) -> str:
    body = {"type": REQUEST, "to": node.id, "nonce": secrets.token_hex(16), "ts": int(time.time()),
            "call": req.call_id, "key_column": req.key_column,
            "claim": {"column": req.claim_column, "op": req.claim_op}, "question": req.question,
            "reply_key": req.reply_key, "sealed": req.sealed[node.id]}
    envelope, digest = sign_with_digest(body, COORDINATOR, signing_key)
    try:
        resp = _CLIENT.post(node.url.rstrip("/") + ROUTE, json=envelope, timeout=timeout)
        answer = resp.json()
    except (httpx.HTTPError, ValueError) as e:
        raise ProviderRefused({node.id: f"no answer to the verification: {type(e).__name__}"}) from None
    try:
        return _sealed(resp.status_code, answer, node, digest, req.call_id)
    except ProviderAuthError as e:
        raise ProviderRefused({node.id: e.detail}) from None


def _sealed(status: int, answer: object, node: ProviderEndpoint, digest: str, call_id: str) -> str:
    """The sealed answer of one node's reply, checked; its signed refusal as :class:`PolicyRefused`."""
    pub = load_public_key(node.public_key_hex)
    raise_if_refusal(status, answer, node.id, pub, digest)
    if status != 200:
        detail = answer.get("detail") if isinstance(answer, dict) else None
        raise ProviderRefused({node.id: f"HTTP {status}: {str(detail)[:200]}"})
    reply, _ = verify_with_digest(answer, node.id, pub)
    sealed = reply.get("sealed")
    if reply.get("type") != REPLY or reply.get("req") != digest or reply.get("call") != call_id \
            or not isinstance(sealed, str) or len(sealed) != SEALED_B64:
        raise ProviderRefused({node.id: "a verification reply not bound to this call, or not one sealed answer"})
    return sealed


def ask_nodes(signing_key: Ed25519PrivateKey, nodes: Sequence[ProviderEndpoint], req: VerifyRequest,
              timeout: float) -> list[str]:
    """Every node's sealed answer, in ``nodes`` order (the caller shuffles); raises the first node's refusal
    (a policy refusal first), naming every node that refused."""
    futures = [_POOL.submit(_ask, signing_key, n, req, timeout) for n in nodes]
    sealed, errors = [], []
    for f in futures:
        try:
            sealed.append(f.result())
        except PrivacyError as e:
            errors.append(e)
    policy = [e for e in errors if isinstance(e, PolicyRefused)]
    if policy:
        raise policy[0]
    if errors:
        reasons: dict[str, str] = {}
        for err in errors:
            reasons.update(err.nodes if isinstance(err, ProviderRefused) else {"?": err.detail})
        raise ProviderRefused(reasons)
    return sealed
