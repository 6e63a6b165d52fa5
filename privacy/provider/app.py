"""FastAPI app of a provider node: identity plus the four protocol rounds, nothing else.

There is deliberately no route that returns rows or unmasked aggregates.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from privacy.errors import PrivacyError, ProtocolError, ProviderAuthError
from privacy.provider.local import LocalData
from privacy.secagg.constants import PROTOCOL
from privacy.secagg.crypto import load_or_create_identity, load_public_key, public_key_hex
from privacy.secagg.provider import Handler, ProviderSecAgg


def _status(err: PrivacyError) -> int:
    if isinstance(err, ProviderAuthError):
        return 401
    if isinstance(err, ProtocolError):
        return 409
    return 400


SECURITY_LOG = "security.log"


def security_event(key_dir: Path, request: Request, err: ProviderAuthError) -> None:
    """Append a refused protocol message (forged, replayed, stale, misaddressed) to the node's log."""
    event = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "kind": err.code,
             "path": request.url.path, "client": request.client.host if request.client else None,
             "detail": err.detail[:300]}
    with open(key_dir / SECURITY_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, sort_keys=True) + "\n")


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
        except PrivacyError as e:
            if isinstance(e, ProviderAuthError):
                security_event(key_dir, request, e)
            return JSONResponse(e.to_dict(), _status(e))
        except (KeyError, TypeError, ValueError) as e:
            detail = f"malformed message: {type(e).__name__}: {e}"[:300]
            return JSONResponse({"error": "bad_request", "detail": detail}, 400)

    return endpoint


def create_app(
    data: Path,
    node_id: str,
    key_dir: Path | None = None,
    coordinator_pubkey: str | None = None,
    require_noise: bool = False,
) -> FastAPI:
    """Build the node: load data into DuckDB, load/create the identity key, mount rounds."""
    key_dir = key_dir or default_key_dir(node_id)
    identity = load_or_create_identity(key_dir)
    coord_hex = resolve_coordinator_key(key_dir, coordinator_pubkey)
    local = LocalData(data)
    proto = ProviderSecAgg(
        node_id,
        identity,
        load_public_key(coord_hex) if coord_hex else None,
        local.compute,
        require_noise=require_noise,
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
        }

    for route, handler in proto.rounds().items():
        app.add_api_route(route, protocol_endpoint(key_dir, handler), methods=["POST"])
    return app


def serve(
    data: Path,
    node_id: str,
    port: int,
    host: str = "127.0.0.1",
    key_dir: Path | None = None,
    coordinator_pubkey: str | None = None,
    require_noise: bool = False,
) -> None:
    """Run a provider node (blocking). Prints one JSON line with id, URL and public key."""
    import uvicorn

    app = create_app(data, node_id, key_dir, coordinator_pubkey, require_noise)
    key_dir = key_dir or default_key_dir(node_id)
    pub = (key_dir / "identity.pub").read_text().strip()
    print(json.dumps({"node": node_id, "url": f"http://{host}:{port}", "public_key": pub}),
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
