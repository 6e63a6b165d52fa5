"""Issue 19 probes on node registration (SSRF): the exchange fetches `<url>/identity` only at allowed
addresses, follows no redirect, reads no oversized answer, and gives one generic error for every failure,
so registration cannot scan the exchange's network or read internal services."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from registry.queries.egress import NodeAddressPolicy, NodeUnverified
from registry.queries.providers import UNVERIFIED
from tests.utils.queries import QueryEnv

UNVERIFIED_BODY = {"error": "invalid_input", "detail": f"url: {UNVERIFIED}", "field": "url"}


class _Tricks(BaseHTTPRequestHandler):
    """A real HTTP server that redirects to a genuine node or answers with an oversized identity."""

    target = ""

    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.target + "/identity")
            self.end_headers()
        else:
            body = json.dumps({"protocol": "provex-secagg-v1", "pad": "x" * (2 * 1024 * 1024)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def tricks(qenv: QueryEnv) -> Iterator[str]:
    _Tricks.target = qenv.nodes["node-0"].url
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Tricks)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_every_failure_is_one_generic_error(qenv: QueryEnv, tricks: str) -> None:
    node = qenv.nodes["node-0"]
    body = {"node_id": node.node_id, "url": node.url, "public_key": node.public_key}
    targets = [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata: never
        "http://10.255.255.1:8080",  # not in the allow-list: refused before any connection
        "http://[::ffff:169.254.169.254]",
        "http://127.0.0.1:9",  # closed port
        qenv.server.url,  # an internal HTTP service answering JSON
        f"{tricks}/redirect",  # a redirect to the genuine node
        f"{tricks}/big",  # an oversized answer
        "http://user:pw@127.0.0.1:9",
        "ftp://127.0.0.1/",
    ]
    with qenv.server.client(key=qenv.provider_keys["node-0"]) as c:
        for url in targets:
            started = time.monotonic()
            r = c.post("/providers/me/node", json={**body, "url": url})
            assert r.status_code == 422, (url, r.text)
            if url.startswith("ftp"):
                continue  # refused by the schema's URL pattern
            assert r.json() == UNVERIFIED_BODY, (url, r.text)
            assert time.monotonic() - started < 10, url
        r = c.post("/providers/me/node", json=body)
        assert r.status_code == 201, r.text


def _refused(policy: NodeAddressPolicy, host: str) -> bool:
    try:
        policy.resolve(host, 80)
    except NodeUnverified:
        return True
    return False


def test_allow_list_policy() -> None:
    prod = NodeAddressPolicy.from_settings(["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "localhost"], dev=False)
    assert _refused(prod, "127.0.0.1") and _refused(prod, "localhost"), "loopback only in dev"
    assert _refused(prod, "169.254.169.254"), "link-local never"
    assert not _refused(prod, "10.1.2.3")
    assert _refused(prod, "192.168.1.1") and _refused(prod, "8.8.8.8")
    assert _refused(NodeAddressPolicy.from_settings([], dev=False), "10.1.2.3"), "nothing allowed by default"
    dev = NodeAddressPolicy.from_settings([], dev=True)
    assert not _refused(dev, "127.0.0.1") and not _refused(dev, "localhost")
    assert dev.address_allowed(ipaddress.ip_address("::1"))
    assert _refused(dev, "10.1.2.3") and _refused(dev, "no-such-host.invalid")
