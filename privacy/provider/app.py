"""FastAPI app of a provider node: identity plus the four protocol rounds and verification calls, nothing else.

There is deliberately no route that returns rows or unmasked aggregates; a verification answer is one bit
sealed to the buyer (:mod:`privacy.provider.verify`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from privacy.errors import PolicyRefused, PrivacyError, ProtocolError, ProviderAuthError, SourceUnavailable
from privacy.provider.bounding import keeping_prefixes
from privacy.provider.enforce import Enforcer
from privacy.provider.policy import Policy, PolicyFormatError, read_document, verify_policy
from privacy.provider.sources import DataSource, open_source
from privacy.provider.verify import NodeVerifier
from privacy.sealbox import load_or_create_sealing_key
from privacy.secagg.constants import PROTOCOL, REFUSAL_STATUS
from privacy.secagg.crypto import load_or_create_identity, load_public_key, public_key_hex
from privacy.secagg.provider import Handler, ProviderSecAgg
from privacy.verify import ROUTE as VERIFY_ROUTE
from privacy.verify_question import sealing_key_envelope


def _status(err: PrivacyError) -> int:
    if isinstance(err, ProviderAuthError):
        return 401
    if isinstance(err, ProtocolError):
        return 409
    if isinstance(err, SourceUnavailable):
        return 503
    return 400


SECURITY_LOG = "security.log"
REFUSALS_LOG = "refusals.log"
POLICY_FILE = "policy.json"


def security_event(key_dir: Path, request: Request, err: ProviderAuthError) -> None:
    """Append a refused protocol message (forged, replayed, stale, misaddressed) to the node's log."""
    event = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "kind": err.code,
             "path": request.url.path, "client": request.client.host if request.client else None,
             "detail": err.detail[:300]}
    with open(key_dir / SECURITY_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, sort_keys=True) + "\n")


def refusal_event(key_dir: Path, err: PolicyRefused) -> None:
    """Append a plan this node refused under its policy (rule and reason) to the node's log."""
    event = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "rule": err.rule,
             "detail": err.reason[:300]}
    with open(key_dir / REFUSALS_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, sort_keys=True) + "\n")


def load_node_policy(path: Path, node_id: str, identity: Ed25519PrivateKey, local: DataSource) -> Policy:
    """The node's signed policy, checked: signed by this node's key, for this node, and every declared
    column held by the data. :class:`PolicyFormatError` otherwise (the node does not start)."""
    policy = verify_policy(read_document(path), node_id, identity.public_key())
    missing = sorted(set(policy.columns) - local.columns)
    if missing:
        raise PolicyFormatError(f"policy declares columns the data does not hold: {missing}")
    return policy


def resolve_policy(key_dir: Path, explicit: Path | None) -> Path | None:
    """The node's policy file: argument, else ``<key_dir>/policy.json`` when present, else none."""
    if explicit is not None:
        return explicit
    path = key_dir / POLICY_FILE
    return path if path.exists() else None


def default_key_dir(node_id: str) -> Path:
    return Path(".provex") / "providers" / node_id


def resolve_coordinator_key(key_dir: Path, explicit: str | None) -> str | None:
    """Coordinator public key: argument, else ``<key_dir>/coordinator.pub``, else env."""
    if explicit:
        return explicit.strip()
    path = key_dir / "coordinator.pub"
    if path.exists():
        return path.read_text().strip()
    return os.environ.get("PROVEX_COORDINATOR_PUBKEY") or None


def protocol_endpoint(key_dir: Path, fn: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A POST route running one round's handler off the event loop, refusals as JSON 4xx."""

    async def endpoint(request: Request) -> JSONResponse:
        try:
            envelope = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "bad_request", "detail": "body is not JSON"}, 400)
        try:
            return JSONResponse(await run_in_threadpool(fn, envelope))
        except PolicyRefused as e:
            refusal_event(key_dir, e)
            if e.refusal is not None:
                return JSONResponse(e.refusal, REFUSAL_STATUS)
            return JSONResponse(e.to_dict(), REFUSAL_STATUS)
        except PrivacyError as e:
            if isinstance(e, ProviderAuthError):
                security_event(key_dir, request, e)
            return JSONResponse(e.to_dict(), _status(e))
        except (KeyError, TypeError, ValueError) as e:
            detail = f"malformed message: {type(e).__name__}: {e}"[:300]
            return JSONResponse({"error": "bad_request", "detail": detail}, 400)

    return endpoint


def create_app(
    data: Path | str,
    node_id: str,
    key_dir: Path | None = None,
    coordinator_pubkey: str | None = None,
    require_noise: bool = False,
    policy_path: Path | None = None,
) -> FastAPI:
    """Build the node: open its data (a file loaded into DuckDB, or a ``postgresql://...#table`` source),
    load/create the identity key, load and check the signed policy (when given: every plan must keep it),
    mount rounds."""
    key_dir = key_dir or default_key_dir(node_id)
    identity = load_or_create_identity(key_dir)
    sealing = load_or_create_sealing_key(key_dir)
    coord_hex = resolve_coordinator_key(key_dir, coordinator_pubkey)
    local = open_source(data)
    policy_path = resolve_policy(key_dir, policy_path)
    policy = load_node_policy(policy_path, node_id, identity, local) if policy_path else None
    policy_doc = read_document(policy_path) if policy_path else None
    prefixes = policy.privacy_unit.prefixes if policy and policy.privacy_unit else ()
    compute = keeping_prefixes(local.compute, prefixes) if prefixes else local.compute
    gate = Enforcer(policy, compute, key_dir) if policy else None
    proto = ProviderSecAgg(
        node_id,
        identity,
        load_public_key(coord_hex) if coord_hex else None,
        compute,
        require_noise=require_noise,
        gate=gate,
        policy_hash=policy.hash() if policy else None,
    )
    app = FastAPI(title=f"provex provider {node_id}", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.protocol = proto

    @app.get("/identity")
    def identity_route() -> dict[str, Any]:
        return {
            "node": node_id,
            "public_key": public_key_hex(identity),
            "protocol": PROTOCOL,
            "coordinator_key": coord_hex,
            "policy_hash": policy.hash() if policy else None,
            "sealing_key": sealing_key_envelope(node_id, identity, sealing),
        }

    @app.get("/policy")
    def policy_route() -> JSONResponse:
        """The node's signed policy (public: which columns it allows for what, and its limits)."""
        if policy_doc is None:
            return JSONResponse({"error": "not_found", "detail": "this node runs without a policy"}, 404)
        return JSONResponse(policy_doc)

    for route, handler in proto.rounds().items():
        app.add_api_route(route, protocol_endpoint(key_dir, handler), methods=["POST"])
    verifier = NodeVerifier(proto, policy, local, gate.allowance if gate else None, sealing)
    app.add_api_route(VERIFY_ROUTE, protocol_endpoint(key_dir, verifier.answer), methods=["POST"])
    return app


def serve(
    data: Path | str,
    node_id: str,
    port: int,
    host: str = "127.0.0.1",
    key_dir: Path | None = None,
    coordinator_pubkey: str | None = None,
    require_noise: bool = False,
    policy_path: Path | None = None,
) -> None:
    """Run a provider node (blocking). Prints one JSON line with id, URL, public key and policy hash."""
    import uvicorn

    app = create_app(data, node_id, key_dir, coordinator_pubkey, require_noise, policy_path)
    key_dir = key_dir or default_key_dir(node_id)
    pub = (key_dir / "identity.pub").read_text().strip()
    print(json.dumps({"node": node_id, "url": f"http://{host}:{port}", "public_key": pub,
                      "policy_hash": app.state.protocol.policy_hash}), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
