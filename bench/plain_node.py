"""BENCHMARK ONLY: a provider node plus ``POST /bench/plain``, the one-round unmasked baseline.

    python bench/plain_node.py --data PATH --id NAME --port N --coordinator-key HEX [--key-dir DIR]

The node is the production one (``privacy.provider.app.create_app``: same data loading, identity
and protocol rounds); the extra route answers a coordinator-signed ``plain_req`` with the node's
local aggregate vector from the same ``LocalData.compute`` the protocol masks, signed and bound to
the request. Like a masked input, the vector travels packed in one base64 string (signed 64-bit
lanes), so signing and checking the reply costs what it costs for a secure round: the baseline
does what a secure query does minus masking, noise and unmasking. It is mounted here,
never in ``privacy/``, because it returns an unmasked aggregate. Both the secure and the plain
path of the benchmark talk to these same processes.
"""

from __future__ import annotations

import argparse
import json
import sys
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402

from privacy.errors import ProtocolError  # noqa: E402
from privacy.plan import Plan  # noqa: E402
from privacy.provider.app import create_app, default_key_dir, protocol_endpoint  # noqa: E402
from privacy.secagg.crypto import b64d, b64e  # noqa: E402
from privacy.secagg.provider import ProviderSecAgg  # noqa: E402

PLAIN_ROUTE = "/bench/plain"
PLAIN_REQ = "plain_req"
PLAIN_REPLY = "plain"


def unpack(vector: str) -> list[int]:
    """The lanes of a plain reply's packed vector."""
    return array("q", b64d(vector)).tolist()


def create_bench_app(data: Path, node_id: str, key_dir: Path, coordinator_pubkey: str) -> FastAPI:
    """The production node with the plain route added."""
    app = create_app(data, node_id, key_dir, coordinator_pubkey)
    proto: ProviderSecAgg = app.state.protocol

    def plain(envelope: Any) -> dict[str, Any]:
        req, req_digest = proto.open_request(envelope, PLAIN_REQ)
        plan = Plan.from_dict(envelope["plan"])  # beside the signed body, as for a masked input
        if plan.hash() != req.get("plan_hash"):
            raise ProtocolError("plan hash mismatch")
        units = [int(u) for u in req["noise"]["units"]]
        vector = b64e(array("q", proto.compute(plan, units)).tobytes())
        return proto.reply(req_digest, {"type": PLAIN_REPLY, "vector": vector})

    app.add_api_route(PLAIN_ROUTE, protocol_endpoint(key_dir, plain), methods=["POST"])
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--id", dest="node_id", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--key-dir", type=Path, default=None)
    ap.add_argument("--coordinator-key", required=True)
    a = ap.parse_args(argv)
    key_dir = a.key_dir or default_key_dir(a.node_id)
    app = create_bench_app(a.data, a.node_id, key_dir, a.coordinator_key)
    pub = (key_dir / "identity.pub").read_text().strip()
    print(json.dumps({"node": a.node_id, "url": f"http://{a.host}:{a.port}", "public_key": pub}), flush=True)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
