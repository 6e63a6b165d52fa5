"""Every byte each provider sends is recorded by a TCP proxy and checked: only identity,
fixed-size masked vectors and protocol messages, never a row or a plain aggregate."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import duckdb
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy.calibrate import DPParams, calibrate
from privacy.coordinator import Coordinator
from privacy.secagg.constants import CHECK_LANES
from privacy.secagg.ring import GUARD_BYTES
from privacy.sql import parse_query
from tests.privacy.cluster import Cluster, free_port
from tests.privacy.conftest import COLUMNS

ALLOWED = {
    "advertise": {"type", "session", "node", "req", "c_pk", "s_pks"},
    "share": {"type", "session", "node", "req", "ciphertexts"},
    "masked_input": {"type", "session", "node", "req", "slot", "query_id", "vector"},
    "unmask": {"type", "session", "node", "req", "slot", "b_shares", "s_shares"},
}


class RecordingProxy:
    """Forwards 127.0.0.1:port -> target and records every upstream->client byte."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.recorded = bytearray()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, record: bool) -> None:
            try:
                while data := await r.read(65536):
                    if record:
                        self.recorded.extend(data)
                    w.write(data)
                    await w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                w.close()

        async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
            await asyncio.gather(pipe(cr, uw, False), pipe(ur, cw, True))

        async def main() -> None:
            self.server = await asyncio.start_server(handle, "127.0.0.1", self.port)
            self.ready.set()
            await self.server.serve_forever()

        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(main())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)


def http_bodies(stream: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Split a recorded byte stream into (status line+headers, body) HTTP responses."""
    pos = 0
    while pos < len(stream):
        end = stream.index(b"\r\n\r\n", pos)
        head = stream[pos:end]
        m = re.search(rb"content-length: (\d+)", head, re.I)
        assert m, head
        body = stream[end + 4 : end + 4 + int(m.group(1))]
        yield head, body
        pos = end + 4 + int(m.group(1))


@pytest.fixture(scope="module")
def proxies(cluster: Cluster) -> Iterator[list[RecordingProxy]]:
    ps = [RecordingProxy(n.port) for n in cluster.nodes]
    yield ps
    for p in ps:
        p.stop()


def test_recorded_provider_traffic_is_protocol_only(
    cluster: Cluster, proxies: list[RecordingProxy], coord_key: Ed25519PrivateKey
) -> None:
    eps = [n.endpoint(f"http://127.0.0.1:{p.port}") for n, p in zip(cluster.nodes, proxies,
                                                                     strict=True)]
    for ep in eps:
        assert httpx.get(ep.url + "/identity").status_code == 200
    coord = Coordinator(coord_key, eps, threshold=3, pool=2, timeout=10)
    queries = [
        ("SELECT COUNT(*), SUM(income), AVG(age), region FROM t GROUP BY region", None),
        ("SELECT VARIANCE(score), HISTOGRAM(age, 0, 100, 10) FROM t WHERE age > 3", None),
        ("SELECT COUNT(*), SUM(score), level FROM t GROUP BY level", DPParams(1.0, 1e-6)),
    ]
    expected_sizes: set[int] = set()

    async def go() -> None:
        for sql, dp in queries:
            plan = parse_query(sql, COLUMNS)
            result = await coord.run(plan, calibrate(plan, dp), min_group_size=0)
            assert result.participants == ["p0", "p1", "p2", "p3"]
            bits = coord.ring_bits(plan, calibrate(plan, dp))
            expected_sizes.add((plan.vector_length() + CHECK_LANES) * (bits // 8 + GUARD_BYTES))
        await coord.aclose()

    asyncio.run(go())
    for node, proxy in zip(cluster.nodes, proxies, strict=True):
        stream = bytes(proxy.recorded)
        assert stream, "nothing recorded"
        raw_values = duckdb.sql(
            f"SELECT DISTINCT CAST(income AS VARCHAR) FROM "
            f"{'read_parquet' if str(node.data).endswith('.parquet') else 'read_csv_auto'}"
            f"('{node.data}') WHERE income IS NOT NULL AND income != FLOOR(income)"
        ).fetchall()
        for (v,) in raw_values:  # values with a decimal point cannot hide in hex/base64
            assert v.encode() not in stream, f"{node.id} leaked raw value {v}"
        kinds: dict[str, int] = {}
        vector_sizes: set[int] = set()
        for head, body in http_bodies(stream):
            assert head.startswith(b"HTTP/1.1 200"), head
            msg: dict[str, Any] = json.loads(body)
            if "public_key" in msg:  # GET /identity
                assert set(msg) == {"node", "public_key", "protocol", "coordinator_key", "policy_hash", "sealing_key"}
                continue
            assert set(msg) == {"body", "signer", "sig"} and msg["signer"] == node.id
            inner = msg["body"]
            kind = inner["type"]
            assert set(inner) == ALLOWED[kind], (kind, set(inner))
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind == "masked_input":
                vector_sizes.add(len(base64.b64decode(inner["vector"])))
            if kind == "unmask":
                for share in [*inner["b_shares"].values(), *inner["s_shares"].values()]:
                    assert re.fullmatch(r"0x[0-9a-f]+", share)
        assert kinds == {"advertise": 2, "share": 2, "masked_input": 3, "unmask": 3}
        assert vector_sizes == expected_sizes
