"""TEST ONLY: the production provider node with one fault injected, for robustness tests.

    python tests/privacy/faulty_node.py --fault corrupt-share|error-500 --data PATH --id NAME ...

The node is ``privacy.provider.app.create_app`` unchanged except for one route:

* ``corrupt-share``: the unmask reply is the real one with one bit of one share flipped, signed
  with the node's own key (a provider lying about its share, not a forgery).
* ``error-500``: the masked-input round answers HTTP 500.

It lives under tests/ so that no production code path can reach it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from starlette.routing import BaseRoute, Route  # noqa: E402

from privacy.provider.app import create_app, default_key_dir, protocol_endpoint  # noqa: E402
from privacy.secagg.constants import INPUT, UNMASK  # noqa: E402
from privacy.secagg.crypto import sign  # noqa: E402
from privacy.secagg.provider import ProviderSecAgg  # noqa: E402

FAULTS = ("corrupt-share", "error-500")


def _replace(app: FastAPI, path: str) -> None:
    keep: list[BaseRoute] = [r for r in app.router.routes if not (isinstance(r, Route) and r.path == path)]
    app.router.routes[:] = keep


def create_faulty_app(fault: str, data: Path, node_id: str, key_dir: Path, coordinator_pubkey: str) -> FastAPI:
    app = create_app(data, node_id, key_dir, coordinator_pubkey)
    proto: ProviderSecAgg = app.state.protocol
    if fault == "corrupt-share":
        def unmask(envelope: Any) -> dict[str, Any]:
            body = dict(proto.unmask(envelope)["body"])
            shares = dict(body["b_shares"])
            victim = sorted(shares)[0]
            shares[victim] = hex(int(shares[victim], 16) ^ (1 << 7))
            body["b_shares"] = shares
            return sign(body, proto.node_id, proto.identity)

        _replace(app, UNMASK.route)
        app.add_api_route(UNMASK.route, protocol_endpoint(key_dir, unmask), methods=["POST"])
    elif fault == "error-500":
        async def broken() -> JSONResponse:
            return JSONResponse({"detail": "Internal Server Error"}, 500)

        _replace(app, INPUT.route)
        app.add_api_route(INPUT.route, broken, methods=["POST"])
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fault", choices=FAULTS, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--id", dest="node_id", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--key-dir", type=Path, default=None)
    ap.add_argument("--coordinator-key", required=True)
    a = ap.parse_args(argv)
    key_dir = a.key_dir or default_key_dir(a.node_id)
    app = create_faulty_app(a.fault, a.data, a.node_id, key_dir, a.coordinator_key)
    pub = (key_dir / "identity.pub").read_text().strip()
    print(json.dumps({"node": a.node_id, "url": f"http://{a.host}:{a.port}", "public_key": pub}), flush=True)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
