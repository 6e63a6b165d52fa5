"""A provider's signed refusal of a plan: the body it signs, and the coordinator's check of it.

A refusal is a protocol reply like any other (signed by the node, ``req`` bound to the request it
answers), of type :data:`~privacy.secagg.constants.REFUSAL`, carrying the ``rule`` of the node's policy
that the plan breaks and the node's ``detail``. The node answers it with HTTP
:data:`~privacy.secagg.constants.REFUSAL_STATUS`; the coordinator turns it into :class:`PolicyRefused`.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy.errors import PolicyRefused, ProviderAuthError
from privacy.secagg.constants import REFUSAL, REFUSAL_STATUS
from privacy.secagg.crypto import verify


def refusal_body(err: PolicyRefused, query_id: Any, plan_hash: str) -> dict[str, Any]:
    """What a node signs (with ``node`` and ``req`` added by its reply) when it refuses a plan."""
    return {"type": REFUSAL, "rule": err.rule, "detail": err.reason, "query_id": query_id, "plan_hash": plan_hash}


def raise_if_refusal(status: int, envelope: Any, node: str, key: Ed25519PublicKey, req_digest: str) -> None:
    """Raise :class:`PolicyRefused` when ``envelope`` is ``node``'s signed refusal of this request
    (a refusal with a bad signature or bound to another request is a :class:`ProviderAuthError`)."""
    if status != REFUSAL_STATUS or not isinstance(envelope, dict):
        return
    body = verify(envelope, node, key)
    if body.get("type") != REFUSAL or body.get("req") != req_digest or body.get("node") != node:
        raise ProviderAuthError(f"refusal from {node} is not bound to this request")
    raise PolicyRefused(str(body.get("rule")), str(body.get("detail"))[:500], node, envelope)
